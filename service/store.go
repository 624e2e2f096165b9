package service

import (
	"context"
	"time"
)

// A Record is a stored profile.
type Record struct {
	// ID is the owner's subject, as [auth.Caller] names it.
	ID          string
	DisplayName string
	Email       string
	Bio         string
	// Version is 1 for the first record of an ID and grows by one with
	// every write, deletions included (see [Store]). Writes ignore it: the
	// store assigns it.
	Version int64
	// UpdateTime is when this version was written. Stores keep at least
	// microsecond precision.
	UpdateTime time.Time
}

// anyVersion, as the version argument of [Store] Update and Delete, matches
// whatever version is stored. Real versions start at 1.
const anyVersion = 0

// A Store keeps profiles, one per ID, and writes them conditionally on their
// stored version. Every conditional write must be one atomic step in the
// database (a single conditional statement, or a transaction), so that of
// concurrent writers conditional on the same version at most one succeeds.
//
// The versions of an ID only ever increase, across deletions, so that a
// version, and the ETag that names it, is never reused for the ID: a client
// holding the ETag of a deleted profile must not match its successor.
// Delete therefore keeps a tombstone of the record: its ID and its version,
// incremented by the deletion, and nothing else; the personal fields must
// really be erased. Create over a tombstone continues from there, so that
// deleting version n and creating the record again stores version n+2. To
// every other method, and in every error, a tombstone is no record: Get,
// Update and Delete fail with errNotFound, and no *versionMismatchError
// names a tombstone's version. How a store keeps tombstones, and whether it
// ever purges them, is its own business, but a purge must not let versions
// start over.
//
// The errors a Store reports are defined in this package, so the
// implementations live here too: [SQLiteStore] and [PostgresStore], which
// the contract test in store_test.go checks alike.
// Besides the ones listed, an error wraps ctx.Err() if the context ended the
// call; any other error is a failure of the store itself.
//
// Implementations must be safe for concurrent use.
type Store interface {
	// Get returns the record with the id, or errNotFound.
	Get(ctx context.Context, id string) (Record, error)
	// Create stores rec as version 1, or, over the tombstone of a deleted
	// record, as the tombstone's version plus one. If a record with rec's ID
	// exists, it changes nothing and fails with a *versionMismatchError
	// naming the stored version. It returns the record as stored.
	Create(ctx context.Context, rec Record) (Record, error)
	// Update replaces the record with rec's ID, incrementing its version, if
	// the stored version is version, or if version is anyVersion. Otherwise
	// it changes nothing and fails with errNotFound if there is no record, or
	// with a *versionMismatchError naming the stored version. It returns the
	// record as stored.
	Update(ctx context.Context, rec Record, version int64) (Record, error)
	// Delete replaces the record with the id by its tombstone, which has the
	// next version and deleteTime as its update time, if its stored version
	// is version, or if version is anyVersion. Otherwise it changes nothing
	// and fails with errNotFound if there is no record, or with a
	// *versionMismatchError naming the stored version.
	Delete(ctx context.Context, id string, version int64, deleteTime time.Time) error
}
