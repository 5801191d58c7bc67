package system

import "strconv"

func hex(id uint64) string { return strconv.FormatUint(id, 16) }
