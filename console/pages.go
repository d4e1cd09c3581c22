package console

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/jobs"
)

// urlValues encodes key, value pairs as a query.
func urlValues(kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return q.Encode()
}

type state struct{ Name, State string }

type overviewData struct {
	Status  string
	Health  []state
	Figures []Figure
}

// overview shows /health's states and the figures.
func (c *Console) overview(w http.ResponseWriter, r *http.Request, v *viewer) error {
	h := c.cfg.Server.Health(r)
	d := overviewData{Status: h["status"]}
	for k, s := range h {
		if k != "status" {
			d.Health = append(d.Health, state{k, s})
		}
	}
	sort.Slice(d.Health, func(i, j int) bool { return d.Health[i].Name < d.Health[j].Name })
	if c.cfg.Figures != nil {
		d.Figures = c.cfg.Figures(r.Context())
	}
	c.render(w, r, http.StatusOK, "overview", v, d)
	return nil
}

type jobsData struct {
	Off    bool
	Counts []jobCount
	State  string
	States []jobs.State
	Jobs   []*jobs.Row
}

type jobCount struct {
	State jobs.State
	N     int64
}

// jobs shows the counts by state and the jobs of one state (failed, that
// is retryable and discarded, by default) with their errors.
func (c *Console) jobs(w http.ResponseWriter, r *http.Request, v *viewer) error {
	d := jobsData{State: r.URL.Query().Get("state"), States: jobs.States}
	if c.cfg.Jobs == nil {
		d.Off = true
		c.render(w, r, http.StatusOK, "jobs", v, d)
		return nil
	}
	if d.State == "" {
		d.State = "failed"
	}
	states, err := jobs.ParseStates(d.State)
	if err != nil {
		return err
	}
	counts, err := c.cfg.Jobs.Counts(r.Context())
	if err != nil {
		return err
	}
	for _, s := range jobs.States {
		d.Counts = append(d.Counts, jobCount{s, counts[s]})
	}
	if d.Jobs, err = c.cfg.Jobs.List(r.Context(), jobs.ListOptions{States: states, Limit: PageSize}); err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "jobs", v, d)
	return nil
}

// jobID is the {id} of a job's URL.
func jobID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, kura.Errorf(kura.ENOTFOUND, "There is no such job.")
	}
	return id, nil
}

// retryJob runs a job that has not completed again; a completed one is
// refused, saying so.
func (c *Console) retryJob(w http.ResponseWriter, r *http.Request, v *viewer) error {
	id, err := jobID(r)
	if err != nil || c.cfg.Jobs == nil {
		return orUnavailable(err)
	}
	row, err := c.cfg.Jobs.Get(r.Context(), id)
	if err != nil {
		return err
	}
	if row.State == jobs.StateCompleted {
		return kura.Errorf(kura.ECONFLICT, "Job %d (%s) has already completed: there is nothing to retry. Nothing was changed.", row.ID, row.Kind)
	}
	if _, err := c.cfg.Jobs.Retry(r.Context(), id); err != nil {
		return err
	}
	http.Redirect(w, r, Prefix+"jobs?"+urlValues("state", r.PostFormValue("state"), "done", "retry"), http.StatusSeeOther)
	return nil
}

// cancelJob cancels a job that has not finished.
func (c *Console) cancelJob(w http.ResponseWriter, r *http.Request, v *viewer) error {
	id, err := jobID(r)
	if err != nil || c.cfg.Jobs == nil {
		return orUnavailable(err)
	}
	if _, err := c.cfg.Jobs.Cancel(r.Context(), id); err != nil {
		return err
	}
	http.Redirect(w, r, Prefix+"jobs?"+urlValues("state", r.PostFormValue("state"), "done", "cancel"), http.StatusSeeOther)
	return nil
}

type backupsData struct {
	Off     bool
	Backups []Backup
	Report  string
	// ShowReport: the report was asked for (report=1); it measures every
	// table, so it is not read on every view.
	ShowReport bool
	Name       string // the backup the last action was about
}

// backups lists the backups with their verified state and the
// maintenance report.
func (c *Console) backups(w http.ResponseWriter, r *http.Request, v *viewer) error {
	d := backupsData{Name: r.URL.Query().Get("name")}
	if c.cfg.Backups == nil {
		d.Off = true
		c.render(w, r, http.StatusOK, "backups", v, d)
		return nil
	}
	var err error
	if d.Backups, err = c.cfg.Backups.List(r.Context()); err != nil {
		return err
	}
	if r.URL.Query().Get("report") == "1" {
		d.ShowReport = true
		if d.Report, err = c.cfg.Backups.Report(r.Context()); err != nil {
			d.Report = "The maintenance report could not be read: " + kura.ErrorMessage(err)
		}
	}
	c.render(w, r, http.StatusOK, "backups", v, d)
	return nil
}

// takeBackup takes a backup now.
func (c *Console) takeBackup(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if c.cfg.Backups == nil {
		return orUnavailable(nil)
	}
	name, err := c.cfg.Backups.Take(r.Context())
	if err != nil {
		return err
	}
	http.Redirect(w, r, Prefix+"backups?"+urlValues("done", "taken", "name", name), http.StatusSeeOther)
	return nil
}

// verifyBackup verifies one backup now.
func (c *Console) verifyBackup(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if c.cfg.Backups == nil {
		return orUnavailable(nil)
	}
	name := r.PathValue("name")
	if err := c.cfg.Backups.Verify(r.Context(), name); err != nil {
		return err
	}
	http.Redirect(w, r, Prefix+"backups?"+urlValues("done", "verified", "name", name), http.StatusSeeOther)
	return nil
}
