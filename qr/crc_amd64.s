//go:build !purego

#include "textflag.h"

// CRC-16/CCITT-FALSE by folding with carry-less multiplication;
// crc_clmul.go explains the method and builds the constants in K.

// FOLD leaves in AX the CRC of the CX (at least two) 16-byte blocks at SI,
// given K at DX, and in BX a mask of the bytes positions where some block
// has a byte of 0x80 or more (not ASCII): the blocks are loaded anyway. Each block is byte-reversed, so that the register reads as
// a polynomial with the payload's first bit as its highest coefficient. Two
// accumulators, A (X0, the even blocks) and C (X3, the odd ones), each
// folded over two blocks at a time, halve the chain of dependent
// multiplications; A then absorbs C and any last block.
#define FOLD \
	MOVOU	0(DX), X7 \
	MOVOU	16(DX), X6 \
	MOVOU	32(DX), X5 \
	MOVOU	48(DX), X0 \
	MOVOU	(SI), X1 \
	MOVOU	16(SI), X3 \
	MOVO	X1, X8 \
	POR	X3, X8 \
	PSHUFB	X7, X1 \
	PXOR	X1, X0 \
	PSHUFB	X7, X3 \
	ADDQ	$32, SI \
	SUBQ	$2, CX \
loop2: \
	CMPQ	CX, $2 \
	JB	last \
	MOVOU	(SI), X1 \
	MOVOU	16(SI), X2 \
	POR	X1, X8 \
	POR	X2, X8 \
	PSHUFB	X7, X1 \
	PSHUFB	X7, X2 \
	MOVO	X0, X4 \
	PCLMULQDQ	$0x00, X5, X0 \
	PCLMULQDQ	$0x11, X5, X4 \
	PXOR	X4, X0 \
	PXOR	X1, X0 \
	MOVO	X3, X4 \
	PCLMULQDQ	$0x00, X5, X3 \
	PCLMULQDQ	$0x11, X5, X4 \
	PXOR	X4, X3 \
	PXOR	X2, X3 \
	ADDQ	$32, SI \
	SUBQ	$2, CX \
	JMP	loop2 \
last: \
	MOVO	X0, X4 \
	PCLMULQDQ	$0x00, X6, X0 \
	PCLMULQDQ	$0x11, X6, X4 \
	PXOR	X4, X0 \
	PXOR	X3, X0 \
	TESTQ	CX, CX \
	JZ	reduce \
	MOVOU	(SI), X1 \
	POR	X1, X8 \
	PSHUFB	X7, X1 \
	MOVO	X0, X4 \
	PCLMULQDQ	$0x00, X6, X0 \
	PCLMULQDQ	$0x11, X6, X4 \
	PXOR	X4, X0 \
	PXOR	X1, X0 \
reduce: \
	MOVOU	64(DX), X5 \
	MOVQ	X0, X1 \
	PSLLDQ	$2, X1 \
	PCLMULQDQ	$0x01, X5, X0 \
	PXOR	X1, X0 \
	MOVQ	X0, X1 \
	PCLMULQDQ	$0x11, X5, X0 \
	PXOR	X1, X0 \
	MOVOU	80(DX), X5 \
	MOVO	X0, X1 \
	PSRLQ	$16, X1 \
	PCLMULQDQ	$0x00, X5, X1 \
	PSRLDQ	$6, X1 \
	PCLMULQDQ	$0x10, X5, X1 \
	PXOR	X1, X0 \
	MOVQ	X0, AX \
	PMOVMSKB	X8, BX

// The reduction, from A (128 bits, congruent to the message) to the CRC,
// A·x¹⁶ mod P: A_hi·(x⁸⁰ mod P) + A_lo·x¹⁶ gives V of under 80 bits;
// V_hi·(x⁶⁴ mod P) + V_lo gives W of 64; Barrett reduction, with
// μ = ⌊x⁶⁴/P⌋ and q = ⌊⌊W/x¹⁶⌋·μ/x⁴⁸⌋ = ⌊W/P⌋, leaves W + q·P, whose low
// 16 bits are the CRC.

// func crcFoldString(s string, k *[12]uint64) (crc uint16, high uint16)
TEXT ·crcFoldString(SB), NOSPLIT, $0-28
	MOVQ	s_base+0(FP), SI
	MOVQ	s_len+8(FP), CX
	MOVQ	k+16(FP), DX
	SHRQ	$4, CX
	FOLD
	MOVW	AX, crc+24(FP)
	MOVW	BX, high+26(FP)
	RET

// func crcFoldBytes(b []byte, k *[12]uint64) uint16
TEXT ·crcFoldBytes(SB), NOSPLIT, $0-34
	MOVQ	b_base+0(FP), SI
	MOVQ	b_len+8(FP), CX
	MOVQ	k+24(FP), DX
	SHRQ	$4, CX
	FOLD
	MOVW	AX, ret+32(FP)
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
