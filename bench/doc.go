// Package bench holds Strata's benchmarks that span packages, and the
// scripts beside it compare Strata with other tools on the same data
// (docs/benchmarks.md records the figures and the commands behind them).
package bench
