package metrics_test

import (
	"testing"

	"github.com/kura-dev/kura/internal/testenv"
)

// TestMain fails the run if a test leaves goroutines behind.
func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }
