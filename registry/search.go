package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// SearchResult is one repository found, with Docker Hub's fields.
type SearchResult struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	StarCount   int    `json:"star_count"`
	IsOfficial  bool   `json:"is_official"`
	IsAutomated bool   `json:"is_automated"`
}

// SearchOptions are the choices of Search.
type SearchOptions struct {
	Options
	Limit      int   // 1 to 100; 0 means 25, as in Docker
	IsOfficial *bool // keep only (non-)official images
	IsAuto     *bool // keep only (non-)automated images
	Stars      int   // keep only images with at least this many stars
	// PageSize is the catalog's page size; 0 means 100.
	PageSize int
}

// hubSearch is Docker Hub's search endpoint (a variable for tests).
var hubSearch = "https://index.docker.io/v1/search"

// SplitSearchTerm tells the registry a search term is for, as Docker
// does: "host[:port]/term" (a first part with "." or ":", or localhost)
// searches that registry, anything else Docker Hub ("docker.io").
func SplitSearchTerm(term string) (host, q string) {
	first, rest, ok := strings.Cut(term, "/")
	if !ok || (!strings.ContainsAny(first, ".:") && first != "localhost") {
		return "docker.io", term
	}
	return first, rest
}

// Search looks for repositories matching term: Docker Hub's search API
// for docker.io; for another registry its v1 search API when it has one,
// else its catalog (every page of /v2/_catalog), keeping the repositories
// whose name contains the term, the exact matches first.
func Search(ctx context.Context, term string, opts SearchOptions) ([]SearchResult, error) {
	limit := opts.Limit
	if limit == 0 {
		limit = 25
	}
	if limit < 1 || limit > 100 {
		return nil, &opError{msg: fmt.Sprintf("limit %d is outside the range of [1, 100]", limit), kind: ErrInvalid}
	}
	host, q := SplitSearchTerm(term)
	if q == "" {
		return nil, &opError{msg: "search " + term + ": empty search term", kind: ErrInvalid}
	}
	var res []SearchResult
	var err error
	if host == "docker.io" || host == "index.docker.io" {
		res, err = v1Search(ctx, &opts.Options, hubSearch, q, limit)
	} else {
		res, err = registrySearch(ctx, host, q, limit, &opts)
	}
	if err != nil {
		return nil, describe("search", term, term, err)
	}
	var out []SearchResult
	for _, r := range res {
		if opts.IsOfficial != nil && r.IsOfficial != *opts.IsOfficial {
			continue
		}
		if opts.IsAuto != nil && r.IsAutomated != *opts.IsAuto {
			continue
		}
		if r.StarCount < opts.Stars {
			continue
		}
		out = append(out, r)
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// errNoV1Search is a registry without the v1 search API.
var errNoV1Search = fmt.Errorf("no v1 search")

func registrySearch(ctx context.Context, host, q string, limit int, opts *SearchOptions) ([]SearchResult, error) {
	reg, err := name.NewRegistry(host, opts.nameOptions(host)...)
	if err != nil {
		return nil, err
	}
	scheme := "https"
	if opts.insecure(host) {
		// Loopback and insecure registries: HTTPS first, as a ping would.
		if res, err := v1Search(ctx, &opts.Options, "https://"+host+"/v1/search", q, limit); err == nil {
			return qualify(host, res), nil
		}
		scheme = "http"
	}
	res, err := v1Search(ctx, &opts.Options, scheme+"://"+host+"/v1/search", q, limit)
	if err == nil {
		return qualify(host, res), nil
	}
	// The reference registry, and most others, have only the catalog.
	pageSize := opts.PageSize
	if pageSize == 0 {
		pageSize = 100
	}
	ropts := append(opts.remoteOptions(ctx), remote.WithPageSize(pageSize))
	repos, err := remote.Catalog(ctx, reg, ropts...)
	if err != nil {
		return nil, err
	}
	return matchCatalog(host, q, repos), nil
}

// qualify prefixes a registry's own names with the registry, so that
// each can be pulled as printed.
func qualify(host string, res []SearchResult) []SearchResult {
	for i := range res {
		if !strings.HasPrefix(res[i].Name, host+"/") {
			res[i].Name = host + "/" + res[i].Name
		}
	}
	return res
}

// matchCatalog keeps the repositories whose name contains q (ignoring
// case): those whose name, or last component, is q come first, then the
// rest by name.
func matchCatalog(host, q string, repos []string) []SearchResult {
	lq := strings.ToLower(q)
	type hit struct {
		repo  string
		exact bool
	}
	var hits []hit
	for _, r := range repos {
		lr := strings.ToLower(r)
		if !strings.Contains(lr, lq) {
			continue
		}
		last := lr[strings.LastIndexByte(lr, '/')+1:]
		hits = append(hits, hit{repo: r, exact: lr == lq || last == lq})
	}
	sort.SliceStable(hits, func(i, j int) bool {
		if hits[i].exact != hits[j].exact {
			return hits[i].exact
		}
		return hits[i].repo < hits[j].repo
	})
	out := make([]SearchResult, len(hits))
	for i, h := range hits {
		out[i] = SearchResult{Name: host + "/" + h.repo}
	}
	return out
}

// v1Search asks a v1 search endpoint, Docker Hub's or a registry's.
func v1Search(ctx context.Context, opts *Options, endpoint, q string, limit int) ([]SearchResult, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, err
	}
	u.RawQuery = url.Values{"q": {q}, "n": {strconv.Itoa(limit)}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if opts.UserAgent != "" {
		req.Header.Set("User-Agent", opts.UserAgent)
	}
	resp, err := (&http.Client{Transport: opts.transport()}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: GET %s: %s", errNoV1Search, u.Redacted(), resp.Status)
	}
	var body struct {
		Results []SearchResult `json:"results"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&body); err != nil {
		return nil, fmt.Errorf("%w: GET %s: %v", errNoV1Search, u.Redacted(), err)
	}
	return body.Results, nil
}
