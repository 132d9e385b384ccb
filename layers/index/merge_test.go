package index

import (
	"testing"
)

func TestMerge(t *testing.T) {
	tests := []struct {
		name   string
		layers [][]op // bottom first
		want   map[string]string
	}{
		{
			name:   "one layer drops its markers",
			layers: [][]op{{whiteout("w"), opaque("d"), add("d/f", file(0o644, 1)), add("i/f", file(0o644, 2))}},
			want:   map[string]string{"d": "dir 755", "d/f": "file 644 #1", "i": "dir 755", "i/f": "file 644 #2"},
		},
		{
			name: "upper file replaces lower file",
			layers: [][]op{
				{add("f", file(0o644, 1)), add("g", file(0o644, 3))},
				{add("f", file(0o600, 2))},
			},
			want: map[string]string{"f": "file 600 #2", "g": "file 644 #3"},
		},
		{
			name: "whiteout removes a file",
			layers: [][]op{
				{add("d/f", file(0o644, 1)), add("d/g", file(0o644, 2))},
				{whiteout("d/f")},
			},
			want: map[string]string{"d": "dir 755", "d/g": "file 644 #2"},
		},
		{
			name: "whiteout removes a dir and everything in it",
			layers: [][]op{
				{add("d/e/f", file(0o644, 1)), add("x", file(0o644, 2))},
				{whiteout("d")},
			},
			want: map[string]string{"x": "file 644 #2"},
		},
		{
			name: "whiteout of nothing",
			layers: [][]op{
				{add("x", file(0o644, 2))},
				{whiteout("y"), whiteout("z/y")},
			},
			want: map[string]string{"x": "file 644 #2", "z": "dir 755"},
		},
		{
			name: "whiteout then re-create in a later layer",
			layers: [][]op{
				{add("d/old", file(0o644, 1))},
				{whiteout("d")},
				{add("d/new", file(0o644, 2))},
			},
			want: map[string]string{"d": "dir 755", "d/new": "file 644 #2"},
		},
		{
			name: "opaque hides lower children and keeps its own",
			layers: [][]op{
				{add("d", dir(0o700)), add("d/old", file(0o644, 1)), add("d/sub/x", file(0o644, 1)), add("e/keep", file(0o644, 3))},
				{opaque("d"), add("d/new", file(0o644, 2))},
			},
			want: map[string]string{"d": "dir 700", "d/new": "file 644 #2", "e": "dir 755", "e/keep": "file 644 #3"},
		},
		{
			name: "explicit opaque dir takes its own metadata",
			layers: [][]op{
				{add("d", dir(0o700)), add("d/old", file(0o644, 1))},
				{add("d", dir(0o750)), opaque("d")},
			},
			want: map[string]string{"d": "dir 750"},
		},
		{
			name: "opaque root",
			layers: [][]op{
				{add("a/b", file(0o644, 1)), add("c", file(0o644, 2))},
				{opaque("."), add("n", file(0o644, 3))},
			},
			want: map[string]string{"n": "file 644 #3"},
		},
		{
			name: "opaque only hides layers below",
			layers: [][]op{
				{add("d/a", file(0o644, 1))},
				{opaque("d"), add("d/b", file(0o644, 2))},
				{add("d/c", file(0o644, 3))},
			},
			want: map[string]string{"d": "dir 755", "d/b": "file 644 #2", "d/c": "file 644 #3"},
		},
		{
			name: "file replaces dir",
			layers: [][]op{
				{add("d/x/y", file(0o644, 1))},
				{add("d", file(0o600, 2))},
			},
			want: map[string]string{"d": "file 600 #2"},
		},
		{
			name: "dir replaces file",
			layers: [][]op{
				{add("d", file(0o644, 1))},
				{add("d", dir(0o700)), add("d/x", file(0o644, 2))},
			},
			want: map[string]string{"d": "dir 700", "d/x": "file 644 #2"},
		},
		{
			name: "implicit dir replaces file",
			layers: [][]op{
				{add("d", file(0o644, 1))},
				{add("d/x", file(0o644, 2))},
			},
			want: map[string]string{"d": "dir 755", "d/x": "file 644 #2"},
		},
		{
			name: "symlink replaces dir",
			layers: [][]op{
				{add("d/x", file(0o644, 1))},
				{add("d", symlink("x"))},
			},
			want: map[string]string{"d": "symlink x"},
		},
		{
			name: "dir over dir merges, upper metadata wins",
			layers: [][]op{
				{add("d", dir(0o700)), add("d/a", file(0o644, 1))},
				{add("d", dir(0o750)), add("d/b", file(0o644, 2))},
			},
			want: map[string]string{"d": "dir 750", "d/a": "file 644 #1", "d/b": "file 644 #2"},
		},
		{
			name: "implicit dir over dir keeps lower metadata",
			layers: [][]op{
				{add("d", dir(0o700)), add("d/a", file(0o644, 1))},
				{add("d/b", file(0o644, 2))},
			},
			want: map[string]string{"d": "dir 700", "d/a": "file 644 #1", "d/b": "file 644 #2"},
		},
		{
			name: "implicit opaque dir over dir keeps lower metadata",
			layers: [][]op{
				{add("d", dir(0o700)), add("d/a", file(0o644, 1))},
				{opaque("d")},
			},
			want: map[string]string{"d": "dir 700"},
		},
		{
			name: "hard links survive",
			layers: [][]op{
				{add("a", file(0o644, 1)), hardlink("b", "a")},
				{add("c", file(0o644, 2))},
			},
			want: map[string]string{"a": "file 644 #1 link=a nlink=2", "b": "file 644 #1 link=a nlink=2", "c": "file 644 #2"},
		},
		{
			name: "hard link across a later replacement",
			layers: [][]op{
				{add("a", file(0o644, 1)), hardlink("b", "a"), hardlink("c", "a")},
				{add("a", file(0o600, 2))},
			},
			want: map[string]string{"a": "file 600 #2", "b": "file 644 #1 link=b nlink=2", "c": "file 644 #1 link=b nlink=2"},
		},
		{
			name: "group of one is no group",
			layers: [][]op{
				{add("a", file(0o644, 1)), hardlink("b", "a")},
				{whiteout("a")},
			},
			want: map[string]string{"b": "file 644 #1"},
		},
		{
			name: "groups of different layers stay apart",
			layers: [][]op{
				{add("a", file(0o644, 1)), hardlink("b", "a")},
				{add("c", file(0o644, 1)), hardlink("d", "c")},
			},
			want: map[string]string{
				"a": "file 644 #1 link=a nlink=2", "b": "file 644 #1 link=a nlink=2",
				"c": "file 644 #1 link=c nlink=2", "d": "file 644 #1 link=c nlink=2",
			},
		},
		{
			name: "hard link whose dir is replaced",
			layers: [][]op{
				{add("a", file(0o644, 1)), hardlink("d/b", "a")},
				{add("d", file(0o644, 2))},
			},
			want: map[string]string{"a": "file 644 #1", "d": "file 644 #2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var xs []*Index
			for _, ops := range tt.layers {
				xs = append(xs, build(t, ops...))
			}
			got, err := Merge(xs...)
			if err != nil {
				t.Fatal(err)
			}
			if d := diffTrees(tree(got), tt.want); d != "" {
				t.Errorf("tree:%s", d)
			}
			if err := checkInvariants(got); err != nil {
				t.Error(err)
			}
			// A flattened index has no flags at all.
			for i := uint32(0); i < uint32(got.Len()); i++ {
				if f := got.Flags(i); f != 0 {
					t.Errorf("%q: got flags %b, want none", got.Path(i), f)
				}
			}
		})
	}
}

func TestMergeRoot(t *testing.T) {
	tests := []struct {
		name   string
		layers [][]op
		want   uint32 // root permissions
	}{
		{"no layers", nil, 0o755},
		{"implicit", [][]op{{add("f", file(0o644, 1))}}, 0o755},
		{"explicit", [][]op{{add(".", dir(0o700))}}, 0o700},
		{"upper explicit", [][]op{{add(".", dir(0o700))}, {add(".", dir(0o750))}}, 0o750},
		{"upper implicit", [][]op{{add(".", dir(0o700))}, {add("f", file(0o644, 1))}}, 0o700},
		{"upper opaque", [][]op{{add(".", dir(0o700))}, {opaque(".")}}, 0o700},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var xs []*Index
			for _, ops := range tt.layers {
				xs = append(xs, build(t, ops...))
			}
			got, err := Merge(xs...)
			if err != nil {
				t.Fatal(err)
			}
			if m, f := got.Mode(0), got.Flags(0); m != TypeDir|tt.want || f != 0 {
				t.Errorf("root: got mode %o flags %b, want %o 0", m, f, TypeDir|tt.want)
			}
		})
	}
}

func TestMergeMetadata(t *testing.T) {
	lower := build(t, add("f", Entry{
		Mode: TypeReg | 0o4755, UID: 1, GID: 2, Size: 3, Digest: Digest{3}, Mtime: 4, MtimeNs: 5,
		Xattrs: []Xattr{{"user.x", "y"}},
	}), add("dev", Entry{Mode: TypeBlock | 0o600, Rdev: 77}))
	got, err := Merge(lower, build(t, add("other", dir(0o700))))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"f", "dev"} {
		i, _ := lower.Resolve(p)
		j, ok := got.Resolve(p)
		if !ok {
			t.Fatalf("%s is missing", p)
		}
		want, e := lower.Entry(i), got.Entry(j)
		want.Parent, e.Parent = 0, 0
		if e.Mode != want.Mode || e.UID != want.UID || e.GID != want.GID || e.Size != want.Size ||
			e.Digest != want.Digest || e.Mtime != want.Mtime || e.MtimeNs != want.MtimeNs ||
			e.Rdev != want.Rdev || len(e.Xattrs) != len(want.Xattrs) {
			t.Errorf("%s: got %+v, want %+v", p, e, want)
		}
	}
}
