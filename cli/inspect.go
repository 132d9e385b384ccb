package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/cli/format"
	"github.com/strata-engine/strata/layers"
	"github.com/strata-engine/strata/runtime"
)

// exitInspectTemplate is the status of inspect commands given a template
// that does not parse: Docker's (EX_USAGE), unlike the lists' 1.
const exitInspectTemplate = 64

// imageInspect is an image as "inspect" shows it, in the JSON shape of
// Docker's image inspect (API 1.43), so that scripts and templates written
// for Docker ({{.Config.Env}}, {{.RootFS.Layers}}, {{.Id}}) work unchanged.
// Docker's GraphDriver is left out: there is no graph driver to describe.
type imageInspect struct {
	ID            string   `json:"Id"`
	RepoTags      []string `json:"RepoTags"`
	RepoDigests   []string `json:"RepoDigests"`
	Parent        string   `json:"Parent"`
	Comment       string   `json:"Comment"`
	Created       string   `json:"Created"`
	DockerVersion string   `json:"DockerVersion"`
	Author        string   `json:"Author"`
	Config        ocispec.ImageConfig
	Architecture  string `json:"Architecture"`
	Variant       string `json:"Variant,omitempty"`
	Os            string `json:"Os"`
	OsVersion     string `json:"OsVersion,omitempty"`
	Size          int64  `json:"Size"`
	RootFS        struct {
		Type   string   `json:"Type"`
		Layers []string `json:"Layers"`
	} `json:"RootFS"`
	Metadata struct {
		LastTagTime time.Time `json:"LastTagTime"`
	} `json:"Metadata"`
}

func newImageInspect(img *layers.Image) *imageInspect {
	cfg := img.Config
	v := &imageInspect{
		ID:           img.ID.String(),
		RepoTags:     nonNil(img.RepoTags),
		RepoDigests:  nonNil(img.RepoDigests),
		Author:       cfg.Author,
		Config:       cfg.Config,
		Architecture: cfg.Architecture,
		Variant:      cfg.Variant,
		Os:           cfg.OS,
		OsVersion:    cfg.OSVersion,
		Size:         img.Size,
	}
	if cfg.Created != nil {
		v.Created = cfg.Created.UTC().Format(time.RFC3339Nano)
	}
	// Docker's image comment is the one of the last step that made it:
	// "Imported from -", or docker commit's message.
	if n := len(cfg.History); n > 0 {
		v.Comment = cfg.History[n-1].Comment
	}
	v.RootFS.Type = cfg.RootFS.Type
	v.RootFS.Layers = []string{}
	for _, d := range cfg.RootFS.DiffIDs {
		v.RootFS.Layers = append(v.RootFS.Layers, d.String())
	}
	return v
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (a *app) newImageInspectCommand() *cobra.Command {
	var fmtText string
	c := &cobra.Command{
		Use:   "inspect [OPTIONS] IMAGE [IMAGE...]",
		Short: "Display detailed information on one or more images",
		Args:  minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := a.store()
			if err != nil {
				return err
			}
			return a.inspect(fmtText, args, func(ref string) (any, error) {
				img, err := s.ResolveImage(c.Context(), ref)
				if err != nil {
					return nil, err
				}
				return newImageInspect(img), nil
			})
		},
	}
	c.Flags().StringVarP(&fmtText, "format", "f", "", inspectFormatHelp)
	return c
}

// Object types "inspect --type" accepts.
var inspectTypes = []string{"container", "image"}

func (a *app) newInspectCommand() *cobra.Command {
	var (
		fmtText, typ string
		sizes        bool
	)
	c := &cobra.Command{
		Use:   "inspect [OPTIONS] NAME|ID [NAME|ID...]",
		Short: "Return low-level information on Strata objects",
		Args:  minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			switch typ {
			case "", "image", "container":
			default:
				return fmt.Errorf(`unknown type: %q: must be one of "container", "image"`, typ)
			}
			rt, s, err := a.runtime()
			if err != nil {
				return err
			}
			return a.inspect(fmtText, args, func(ref string) (any, error) {
				return a.inspectObject(c.Context(), rt, s, typ, ref)
			})
		},
	}
	f := c.Flags()
	f.StringVarP(&fmtText, "format", "f", "", inspectFormatHelp)
	f.StringVar(&typ, "type", "", `Only inspect objects of the given type ("container", "image")`)
	f.BoolVarP(&sizes, "size", "s", false, "Display total file sizes if the type is container")
	return c
}

// inspectObject finds what ref names: a container first, then an image,
// in Docker's order.
func (a *app) inspectObject(ctx context.Context, rt *runtime.Runtime, s *layers.Store, typ, ref string) (any, error) {
	if typ != "image" {
		obj, err := a.inspectContainer(ctx, rt, s, ref)
		if err == nil || typ == "container" || !errors.Is(err, layers.ErrNotFound) {
			return obj, err
		}
	}
	img, err := s.ResolveImage(ctx, ref)
	if err != nil {
		if typ == "" && errors.Is(err, layers.ErrNotFound) {
			// Docker's capitalised text, which scripts match.
			return nil, fmt.Errorf("No such object: %s", ref)
		}
		return nil, err
	}
	return newImageInspect(img), nil
}

// inspect renders the object each ref names. As in Docker, the objects found
// are printed even when others are not, and the command then fails with one
// error line per missing name.
func (a *app) inspect(fmtText string, refs []string, get func(string) (any, error)) error {
	in, err := format.NewInspector(a.out, fmtText)
	if err != nil {
		return withCode(exitInspectTemplate, err)
	}
	var errs []error
	for _, ref := range refs {
		obj, err := get(ref)
		if err == nil {
			err = in.Add(obj)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := in.Flush(); err != nil {
		errs = append(errs, err)
	}
	return joinErrors(errs)
}
