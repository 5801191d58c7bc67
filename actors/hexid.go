package actors

import "strconv"

// HexID renders a member or cluster id as etcd does in its logs and answers:
// lowercase hex, no padding.
func HexID(id uint64) string { return strconv.FormatUint(id, 16) }

// HexIDs renders a list of ids (a membership's voters) as HexID does.
func HexIDs(ids []uint64) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = HexID(id)
	}
	return out
}
