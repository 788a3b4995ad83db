package bolt

import (
	"bytes"
	"fmt"
	"strings"
)

// checkIndexes cross-checks, both ways, the indexes that decide who gets
// in: a phone's token, a stall's device list, a username. An entry that
// disagrees with its record would let a revoked phone in, hide a phone
// from its stall's page, or sign a user in as someone else. The event-sized
// indexes are left to the rules' own tests: walking them would make
// `choso check` on a year's store take as long as a compaction.
func checkIndexes(tx *Tx) []error {
	var problems []error
	add := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }

	tokens, stallDevices := tx.bucket(bucketDeviceTokens), tx.bucket(bucketStallDevices)
	for hash, id := range ascend(tokens, nil, nil) {
		d, err := tx.listedDevice(string(id))
		switch {
		case err != nil:
			add("device_tokens: a token names device %q: %v", id, err)
		case !bytes.Equal(hash, d.TokenHash) && !bytes.Equal(hash, d.PrevTokenHash):
			add("device_tokens: a token names device %q, which does not hold it", id)
		}
	}
	for id := range ascend(tx.bucket(bucketDevices), nil, nil) {
		d, err := tx.listedDevice(string(id))
		if err != nil {
			add("devices: %q: %v", id, err)
			continue
		}
		for _, h := range tokenHashes(d) {
			if !bytes.Equal(tokens.Get(h), id) {
				add("device %q: a token of its is not in device_tokens", id)
			}
		}
		if stallDevices.Get(joinKey(d.StallID, d.ID)) == nil {
			add("device %q: not in stall_devices under its stall %q", id, d.StallID)
		}
	}
	for key := range ascend(stallDevices, nil, nil) {
		stallID, deviceID, _ := strings.Cut(string(key), keySep)
		if d, err := tx.listedDevice(deviceID); err != nil || d.StallID != stallID {
			add("stall_devices: %q lists a device that is not that stall's", key)
		}
	}

	names := tx.bucket(bucketUserNames)
	for name, id := range ascend(names, nil, nil) {
		u, err := tx.getUser(string(id))
		switch {
		case err != nil:
			add("user_names: %q names user %q: %v", name, id, err)
		case u.Username != string(name):
			add("user_names: %q names user %q, whose username is %q", name, id, u.Username)
		}
	}
	for id := range ascend(tx.bucket(bucketUsers), nil, nil) {
		u, err := tx.getUser(string(id))
		if err != nil {
			add("users: %q: %v", id, err)
			continue
		}
		if !bytes.Equal(names.Get([]byte(u.Username)), id) {
			add("user %q: username %q is not in user_names", id, u.Username)
		}
	}
	return problems
}
