package raftactor

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
)

// A snapshot's image is the membership at its index followed by the tree's
// own bytes: "v2members" uvarint(n) JSON(n bytes) tree. The tree writes the
// prefix it is given in front of its image (TakeSnapshot.Prefix), so the
// image is never copied to be wrapped; the raft actor strips it again
// (by slicing) before a Restore. An image without the prefix is one written
// before members were replicated: the tree's alone.
const imageMagic = "v2members"

var errBadImage = errors.New("snapshot image: damaged membership")

func imagePrefix(m membership) []byte {
	js, _ := json.Marshal(m) // plain structs: never fails
	b := make([]byte, 0, len(imageMagic)+binary.MaxVarintLen64+len(js))
	b = append(b, imageMagic...)
	b = binary.AppendUvarint(b, uint64(len(js)))
	return append(b, js...)
}

// splitImage parses an image into its membership (ok false: it has none)
// and the tree's part.
func splitImage(data []byte) (m membership, tree []byte, ok bool, err error) {
	if !strings.HasPrefix(string(data), imageMagic) {
		return m, data, false, nil
	}
	rest := data[len(imageMagic):]
	n, k := binary.Uvarint(rest)
	if k <= 0 || n > uint64(len(rest)-k) {
		return m, nil, false, errBadImage
	}
	if err := json.Unmarshal(rest[k:k+int(n)], &m); err != nil {
		return m, nil, false, errBadImage
	}
	return m, rest[k+int(n):], true, nil
}
