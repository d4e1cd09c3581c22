package jobs

// StopBeating ends c's heartbeat as the death of its process would, and
// leaves its workers, and the jobs they run, as they are: to its peers c
// is dead 3 heartbeats later. Stop still stops c.
func StopBeating(c *Client) { c.heart.halt() }
