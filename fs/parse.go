package fs

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseOverlayOptions reads mount options as fuse-overlayfs and kernel
// overlayfs take them ("lowerdir=A:B,upperdir=U,workdir=W,..."; lower
// directories top first, a colon in a path escaped as "\:"), so that the
// filesystem can stand in for fuse-overlayfs. Generic mount options that
// need nothing from us are accepted; an option we cannot honour is an
// error. Passthrough is on unless "nopassthrough" says otherwise (it is
// probed at mount time anyway).
func ParseOverlayOptions(s string) (Options, error) {
	o := Options{Passthrough: true}
	bad := func(opt string, why string) (Options, error) {
		return Options{}, fmt.Errorf("%w: %s: %s", ErrBadOptions, opt, why)
	}
	for _, opt := range splitEscaped(s, ',') {
		if opt == "" {
			continue
		}
		key, val, hasVal := strings.Cut(opt, "=")
		switch key {
		case "lowerdir":
			for _, d := range splitEscaped(val, ':') {
				if d == "" {
					return bad(opt, "empty lower directory")
				}
				o.Lowers = append(o.Lowers, NewDirLower(d))
			}
		case "upperdir":
			o.UpperDir = val
		case "workdir":
			o.WorkDir = val
		case "fsname":
			o.FsName = val
		case "volatile":
			o.Volatile = true
		case "fsync":
			o.Volatile = val == "0"
		case "timeout":
			sec, err := strconv.ParseFloat(val, 64)
			if err != nil || sec < 0 {
				return bad(opt, "not a number of seconds")
			}
			o.UpperTimeout = time.Duration(sec * float64(time.Second))
		case "debug":
			o.Debug = true
		case "allow_other", "allow_root":
			t := true
			o.AllowOther = &t
		case "passthrough":
			o.Passthrough = true
		case "nopassthrough":
			o.Passthrough = false
		case "rw", "dev", "suid", "exec", "atime", "noatime", "relatime", "strictatime", "nodiratime",
			"default_permissions", "fast_ino", "static_nlink", "noacl", "userxattr", "xino", "redirect_dir",
			"index", "metacopy", "threaded", "context", "fscontext", "defcontext", "rootcontext", "max_write":
			// Either what we do anyway, or a tuning knob of fuse-overlayfs
			// or overlayfs with no meaning here.
		default:
			if hasVal {
				return bad(opt, "unsupported option")
			}
			return bad(opt, "unsupported flag")
		}
	}
	switch {
	case len(o.Lowers) == 0 && o.UpperDir == "":
		return Options{}, fmt.Errorf("%w: no lowerdir", ErrBadOptions)
	case o.UpperDir != "" && o.WorkDir == "":
		return Options{}, fmt.Errorf("%w: upperdir needs workdir", ErrBadOptions)
	}
	return o, nil
}

// splitEscaped splits s at sep, except where sep follows a backslash; the
// backslash of "\<sep>" and of "\\" is removed.
func splitEscaped(s string, sep byte) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && (s[i+1] == sep || s[i+1] == '\\'):
			cur.WriteByte(s[i+1])
			i++
		case c == sep:
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(out, cur.String())
}
