package postgres

import "github.com/jackc/pgx/v5"

// bulkRows holds the rows a push writes by the dozen (its events, their
// entities and QR-sale index entries) until the pending writes are sent:
// then each table gets one INSERT … SELECT FROM unnest(…) instead of one
// statement a row. The backend's cost of a statement (parse, bind,
// execute, the serializable bookkeeping) was most of a push's time there.
type bulkRows struct {
	eventSeqs []int64
	eventDocs [][]byte

	entityIDs  []string          // in the order first put
	entityDocs map[string][]byte // the last doc put for each: one row per ID a statement

	qrStalls []string
	qrMs     []int64
	qrSales  []string
}

func (r *bulkRows) empty() bool {
	return len(r.eventSeqs) == 0 && len(r.entityIDs) == 0 && len(r.qrStalls) == 0
}

func (r *bulkRows) addEvent(seq int64, doc []byte) {
	r.eventSeqs = append(r.eventSeqs, seq)
	r.eventDocs = append(r.eventDocs, doc)
}

func (r *bulkRows) addEntity(id string, doc []byte) {
	if r.entityDocs == nil {
		r.entityDocs = map[string][]byte{}
	}
	if _, ok := r.entityDocs[id]; !ok {
		r.entityIDs = append(r.entityIDs, id)
	}
	r.entityDocs[id] = doc
}

func (r *bulkRows) addQRSale(stallID string, effectiveMs int64, saleID string) {
	r.qrStalls = append(r.qrStalls, stallID)
	r.qrMs = append(r.qrMs, effectiveMs)
	r.qrSales = append(r.qrSales, saleID)
}

// queue adds the held rows' statements to b and empties r. The rows of
// one table never depend on another's, nor on the other pending writes.
func (r *bulkRows) queue(b *pgx.Batch) {
	if len(r.eventSeqs) > 0 {
		b.Queue("INSERT INTO events (server_seq, doc) SELECT * FROM unnest($1::bigint[], $2::bytea[])",
			r.eventSeqs, r.eventDocs)
	}
	if len(r.entityIDs) > 0 {
		docs := make([][]byte, len(r.entityIDs))
		for i, id := range r.entityIDs {
			docs[i] = r.entityDocs[id]
		}
		b.Queue(`INSERT INTO entities (id, doc) SELECT * FROM unnest($1::text[], $2::bytea[])
			ON CONFLICT (id) DO UPDATE SET doc = excluded.doc`, r.entityIDs, docs)
	}
	if len(r.qrStalls) > 0 {
		b.Queue(`INSERT INTO qr_sales (stall_id, effective_ms, sale_id)
			SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[]) ON CONFLICT DO NOTHING`,
			r.qrStalls, r.qrMs, r.qrSales)
	}
	*r = bulkRows{}
}
