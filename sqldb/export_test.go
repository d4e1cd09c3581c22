package sqldb

// TrimIdle exposes the pool trimmer's step to the external tests.
var TrimIdle = trimIdle
