package runtime

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"regexp"
)

// Word lists for generated names (adjective_surname). The surnames are of
// scientists and engineers, as Docker's are; the lists are our own.
var (
	adjectives = []string{
		"agile", "amused", "bold", "brave", "bright", "calm", "careful", "clever",
		"cool", "curious", "daring", "eager", "earnest", "elegant", "fervent",
		"focused", "gallant", "gentle", "happy", "hardy", "humble", "jolly",
		"keen", "kind", "lively", "loyal", "lucid", "merry", "mindful", "modest",
		"nimble", "noble", "patient", "peaceful", "placid", "quiet", "quirky",
		"relaxed", "resolute", "serene", "sharp", "steady", "sturdy", "swift",
		"tender", "tidy", "trusting", "upbeat", "vibrant", "vigilant", "warm",
		"wise", "witty", "zealous",
	}
	surnames = []string{
		"agnesi", "babbage", "bardeen", "bohr", "boole", "cantor", "carson",
		"chandrasekhar", "curie", "darwin", "dijkstra", "einstein", "euclid",
		"euler", "faraday", "fermat", "fermi", "feynman", "franklin", "galileo",
		"gauss", "goodall", "hamilton", "hawking", "hertz", "hodgkin", "hopper",
		"hypatia", "johnson", "joule", "kepler", "knuth", "lamarr", "lovelace",
		"maxwell", "meitner", "mendel", "minsky", "newton", "noether", "pascal",
		"pasteur", "planck", "raman", "ritchie", "shannon", "somerville", "tesla",
		"thompson", "turing", "volta", "wilson", "wright", "yalow",
	}
)

// validName is Docker's rule for container names.
var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

func pick(words []string) string {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(len(words))))
	if err != nil {
		return words[0]
	}
	return words[n.Int64()]
}

// generateName returns an adjective_surname name that taken does not hold;
// after a few collisions it adds a digit, as Docker does.
func generateName(taken map[string]bool) string {
	for i := 0; ; i++ {
		name := pick(adjectives) + "_" + pick(surnames)
		if i >= 10 {
			name += fmt.Sprint(i - 9)
		}
		if !taken[name] {
			return name
		}
	}
}

// newID returns a random 64-hex-digit id.
func newID() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// names returns the names in use; the caller holds containers/.lock.
func (r *Runtime) names() (map[string]string, error) {
	ids, err := r.ids()
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, id := range ids {
		c, err := r.load(id)
		if err != nil {
			continue
		}
		m[c.Config.Name] = id
	}
	return m, nil
}
