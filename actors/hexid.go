package actors

import "strconv"

// HexID renders a member or cluster id as etcd does in its logs and answers:
// lowercase hex, no padding.
func HexID(id uint64) string { return strconv.FormatUint(id, 16) }
