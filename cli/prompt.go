package cli

import (
	"bufio"
	"context"
	"fmt"
	"strings"
)

// confirm asks the user a yes/no question on stdout and reads the answer
// from stdin; only "y" (any case) is yes, end of input is no. An interrupt
// while waiting ends the wait with the context's error.
func (a *app) confirm(ctx context.Context, question string) (bool, error) {
	fmt.Fprint(a.out, question+" [y/N] ")
	answer := make(chan bool, 1)
	// The reader cannot be interrupted; if the context ends first it is
	// abandoned, blocked on stdin, and ends with the process.
	go func() {
		line, _ := bufio.NewReader(a.in).ReadString('\n')
		answer <- strings.EqualFold(strings.TrimSpace(line), "y")
	}()
	select {
	case yes := <-answer:
		return yes, nil
	case <-ctx.Done():
		fmt.Fprintln(a.out)
		return false, ctx.Err()
	}
}
