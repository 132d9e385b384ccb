package index

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
)

// Version is the encoding version this package writes.
const Version = 1

const (
	magic      = "STRATAIX"
	headerSize = 64
	recordSize = 64
	xattrSize  = 16
	digestSize = 32
)

// Offsets inside one 64-byte entry record.
const (
	offMode    = 0  // u32 st_mode
	offUID     = 4  // u32
	offGID     = 8  // u32
	offParent  = 12 // u32 entry number
	offSize    = 16 // i64
	offMtime   = 24 // i64 seconds
	offMtimeNs = 32 // u32
	offNameOff = 36 // u32 into strings
	offNameLen = 40 // u16
	offFlags   = 42 // u16
	offA       = 44 // u32: dir first child; file digest number+1; symlink target offset; device rdev low half
	offB       = 48 // u32: dir child count; symlink target length; device rdev high half
	offXStart  = 52 // u32 first xattr
	offXCount  = 56 // u16 xattr count
	offNlink   = 58 // u16 link count, saturated at 65535
	offLink    = 60 // u32 hard-link leader or NoLink
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var le = binary.LittleEndian

// encode writes ents, which are in breadth-first order with parents and
// names set, and decodes the result so that it is checked like any other.
func encode(ents []Entry) (*Index, error) {
	if len(ents) >= math.MaxUint32/2 {
		return nil, fmt.Errorf("%w: too many entries", ErrConflict)
	}
	var (
		strs    []byte
		strOff  = map[string]uint32{}
		digests []byte
		digNum  = map[Digest]uint32{}
		xattrs  []byte
	)
	addStr := func(s string) (uint32, error) {
		if off, ok := strOff[s]; ok {
			return off, nil
		}
		if len(strs)+len(s) > math.MaxUint32 {
			return 0, fmt.Errorf("%w: string table too large", ErrConflict)
		}
		off := uint32(len(strs))
		strs = append(strs, s...)
		strOff[s] = off
		return off, nil
	}
	// First children: in breadth-first order each directory's children
	// follow those of the directories before it.
	first := make([]uint32, len(ents))
	nchild := make([]uint32, len(ents))
	for i := 1; i < len(ents); i++ {
		p := ents[i].Parent
		if nchild[p] == 0 {
			first[p] = uint32(i)
		}
		nchild[p]++
	}
	recs := make([]byte, len(ents)*recordSize)
	for i := range ents {
		e := &ents[i]
		r := recs[i*recordSize : (i+1)*recordSize]
		nameOff, err := addStr(e.Name)
		if err != nil {
			return nil, err
		}
		le.PutUint32(r[offMode:], e.Mode)
		le.PutUint32(r[offUID:], e.UID)
		le.PutUint32(r[offGID:], e.GID)
		le.PutUint32(r[offParent:], e.Parent)
		le.PutUint64(r[offSize:], uint64(e.Size))
		le.PutUint64(r[offMtime:], uint64(e.Mtime))
		le.PutUint32(r[offMtimeNs:], e.MtimeNs%1e9)
		le.PutUint32(r[offNameOff:], nameOff)
		le.PutUint16(r[offNameLen:], uint16(len(e.Name)))
		le.PutUint16(r[offFlags:], uint16(e.Flags))
		var a, b uint32
		switch e.Type() {
		case TypeDir:
			a, b = first[i], nchild[i]
		case TypeReg:
			if !e.Digest.IsZero() {
				n, ok := digNum[e.Digest]
				if !ok {
					n = uint32(len(digNum))
					digNum[e.Digest] = n
					digests = append(digests, e.Digest[:]...)
				}
				a = n + 1
			}
		case TypeLink:
			off, err := addStr(e.Linkname)
			if err != nil {
				return nil, err
			}
			a, b = off, uint32(len(e.Linkname))
		case TypeChar, TypeBlock:
			a, b = uint32(e.Rdev), uint32(e.Rdev>>32)
		}
		le.PutUint32(r[offA:], a)
		le.PutUint32(r[offB:], b)
		if len(e.Xattrs) > math.MaxUint16 {
			return nil, fmt.Errorf("%w: too many xattrs on %s", ErrConflict, e.Name)
		}
		le.PutUint32(r[offXStart:], uint32(len(xattrs)/xattrSize))
		le.PutUint16(r[offXCount:], uint16(len(e.Xattrs)))
		for _, x := range e.Xattrs {
			k, err := addStr(x.Name)
			if err != nil {
				return nil, err
			}
			v, err := addStr(x.Value)
			if err != nil {
				return nil, err
			}
			xattrs = le.AppendUint32(xattrs, k)
			xattrs = le.AppendUint32(xattrs, uint32(len(x.Name)))
			xattrs = le.AppendUint32(xattrs, v)
			xattrs = le.AppendUint32(xattrs, uint32(len(x.Value)))
		}
		nl := e.Nlink
		if nl > math.MaxUint16 {
			nl = math.MaxUint16
		}
		le.PutUint16(r[offNlink:], uint16(nl))
		le.PutUint32(r[offLink:], e.Link)
	}
	body := len(recs) + len(digests) + len(xattrs) + len(strs)
	data := make([]byte, headerSize, headerSize+body)
	copy(data, magic)
	le.PutUint32(data[8:], Version)
	le.PutUint32(data[12:], 0)
	le.PutUint32(data[16:], uint32(len(ents)))
	le.PutUint32(data[20:], uint32(len(digNum)))
	le.PutUint32(data[24:], uint32(len(xattrs)/xattrSize))
	le.PutUint32(data[28:], uint32(len(strs)))
	data = append(data, recs...)
	data = append(data, digests...)
	data = append(data, xattrs...)
	data = append(data, strs...)
	le.PutUint32(data[32:], crc32.Checksum(data[headerSize:], castagnoli))
	return Decode(data)
}
