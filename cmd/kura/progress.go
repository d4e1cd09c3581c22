package main

import (
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// isTerminal says whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressBars draws a bar per step of a long operation on w, a terminal:
// bytes with their rate and the time left, or counts. Step changes finish
// the previous bar. Nothing is drawn when w is not a terminal.
type progressBars struct {
	w    io.Writer
	bar  *progressbar.ProgressBar
	step string
}

// newProgressBars returns the bars for w, or nil when w is not a terminal:
// call update on it either way.
func newProgressBars(w io.Writer) *progressBars {
	if !isTerminal(w) {
		return nil
	}
	return &progressBars{w: w}
}

// update shows that step has done done of total units (total 0: unknown).
func (p *progressBars) update(step, unit string, done, total int64) {
	if p == nil {
		return
	}
	if step != p.step || p.bar == nil {
		p.finish()
		p.step = step
		max := total
		if max <= 0 {
			max = -1
		}
		opts := []progressbar.Option{
			progressbar.OptionSetWriter(p.w), progressbar.OptionSetDescription(step),
			progressbar.OptionShowCount(), progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100_000_000), progressbar.OptionClearOnFinish(),
		}
		if unit == "bytes" {
			opts = append(opts, progressbar.OptionShowBytes(true))
		} else {
			opts = append(opts, progressbar.OptionSetItsString(unit), progressbar.OptionShowIts())
		}
		p.bar = progressbar.NewOptions64(max, opts...)
	}
	p.bar.Set64(done)
}

// finish ends the current bar.
func (p *progressBars) finish() {
	if p == nil || p.bar == nil {
		return
	}
	p.bar.Finish()
	p.bar = nil
}
