//go:build !purego

#include "textflag.h"

// CRC-16/CCITT-FALSE folding with carry-less multiplication; crc_clmul.go
// explains the method and holds the constants.

// FOLD folds the CX 16-byte blocks at SI into X0, given the constants at DX.
// Each block is byte-reversed so that the register reads as a polynomial
// with the payload's first bit as its highest coefficient.
#define FOLD \
	MOVOU	0(DX), X7 \
	MOVOU	16(DX), X6 \
	MOVOU	32(DX), X0 \
	MOVOU	(SI), X1 \
	PSHUFB	X7, X1 \
	PXOR	X1, X0 \
	ADDQ	$16, SI \
	DECQ	CX \
	JZ	done \
loop: \
	MOVOU	(SI), X1 \
	PSHUFB	X7, X1 \
	MOVO	X0, X2 \
	PCLMULQDQ	$0x00, X6, X0 \
	PCLMULQDQ	$0x11, X6, X2 \
	PXOR	X2, X0 \
	PXOR	X1, X0 \
	ADDQ	$16, SI \
	DECQ	CX \
	JNZ	loop \
done:

// func crcFoldString(s string, k *[6]uint64) (hi, lo uint64)
TEXT ·crcFoldString(SB), NOSPLIT, $0-40
	MOVQ	s_base+0(FP), SI
	MOVQ	s_len+8(FP), CX
	MOVQ	k+16(FP), DX
	SHRQ	$4, CX
	FOLD
	MOVQ	X0, lo+32(FP)
	PSRLDQ	$8, X0
	MOVQ	X0, hi+24(FP)
	RET

// func crcFoldBytes(b []byte, k *[6]uint64) (hi, lo uint64)
TEXT ·crcFoldBytes(SB), NOSPLIT, $0-48
	MOVQ	b_base+0(FP), SI
	MOVQ	b_len+8(FP), CX
	MOVQ	k+24(FP), DX
	SHRQ	$4, CX
	FOLD
	MOVQ	X0, lo+40(FP)
	PSRLDQ	$8, X0
	MOVQ	X0, hi+32(FP)
	RET

// func cpuHasCLMUL() bool
TEXT ·cpuHasCLMUL(SB), NOSPLIT, $0-1
	MOVL	$1, AX
	XORL	CX, CX
	CPUID
	// ECX bit 1: PCLMULQDQ; bit 9: SSSE3 (PSHUFB).
	ANDL	$0x202, CX
	CMPL	CX, $0x202
	SETEQ	ret+0(FP)
	RET
