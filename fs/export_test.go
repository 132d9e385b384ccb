//go:build linux

package fs

// LowerPassthroughOpens is how many opens of lower files s has served in
// passthrough mode.
func LowerPassthroughOpens(s *Server) int64 { return s.u.lowerPT.Load() }
