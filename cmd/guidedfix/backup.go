package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"guidedfix/internal/ops"
	"guidedfix/internal/store"
	"guidedfix/internal/support"
)

// backupFiles are the databases a backup copies, in the data directory.
var backupFiles = []string{"portal.db", "sessions.db", "support.db"}

func newBackupCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "backup DIR",
		Short: "Write consistent copies of portal.db, sessions.db and support.db into DIR",
		Long: "backup writes a consistent copy of each database (bbolt Tx.WriteTo, one\n" +
			"read transaction each) into DIR, created 0700 if missing, files 0600.\n" +
			"While `guidedfix serve` runs on this data directory, the copies are made\n" +
			"by the running process through the ops listener's loopback-only admin\n" +
			"endpoint (POST /admin/backup) at ops.listen (the loopback address for a\n" +
			"listener on all interfaces); otherwise this command opens the files. It\n" +
			"says which it did. DIR must be outside the data directory.\n" +
			"The portal key that seals the TOTP secrets is NOT copied: keep it apart\n" +
			"(DATA/portal.key, or portal.key in the configuration). See README, Backup.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBackup(cmd.Context(), cmd.OutOrStdout(), g, args[0])
		},
	}
}

// runBackup backs up into dir through a running serve's ops listener, or
// by opening the databases when none answers there.
func runBackup(ctx context.Context, out io.Writer, g *globalFlags, dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	cfg, dataDir, err := loadConfig(g)
	if err != nil {
		return err
	}
	if err := checkBackupDir(dir, dataDir); err != nil {
		return fmt.Errorf("%w: %w", ops.ErrBadBackupDir, err)
	}
	opsAddr := opsDialAddr(cfg.Ops.Listen)
	files, viaServe, err := backupViaOps(ctx, opsAddr, dir)
	if err != nil {
		return err
	}
	switch {
	case viaServe:
		fmt.Fprintf(out, "The running serve made the copies (asked at ops.listen %s).\n", opsAddr)
	case opsAddr == "":
		fmt.Fprintf(out, "ops.listen is off: copying the databases of %s directly.\n", dataDir)
	default:
		fmt.Fprintf(out, "No serve answered at ops.listen %s: copying the databases of %s directly.\n", opsAddr, dataDir)
	}
	if !viaServe {
		logf, err := os.OpenFile(filepath.Join(dataDir, "guidedfix.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		defer logf.Close()
		a, err := openApp(ctx, g, openOptions{engine: true, logOut: logf})
		if err != nil {
			return fmt.Errorf("%w (is `guidedfix serve` running with the ops listener off? set ops.listen, or stop it)", err)
		}
		defer a.Close()
		if files, err = a.backup(dir); err != nil {
			return err
		}
	}
	for _, f := range files {
		fmt.Fprintln(out, "wrote", f)
	}
	if cfg.Portal.Key.IsSet() {
		fmt.Fprintln(out, "The portal key is not in the backup: it is portal.key in the configuration (GUIDEDFIX_PORTAL__KEY); keep a copy apart from the backup.")
	} else {
		fmt.Fprintf(out, "The portal key is not in the backup: it is %s; keep a copy apart from the backup.\n", filepath.Join(dataDir, "portal.key"))
	}
	return nil
}

// opsDialAddr returns the host:port to reach the ops listener configured
// as listen (ops.listen): "" when it is off, and the loopback address for
// a listener on every interface (":9464", "0.0.0.0:9464", "[::]:9464"),
// because the admin endpoint answers loopback peers only.
func opsDialAddr(listen string) string {
	if listen == "off" || listen == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		if ip != nil && ip.To4() == nil {
			return net.JoinHostPort("::1", port)
		}
		return net.JoinHostPort("127.0.0.1", port)
	}
	return listen
}

// checkBackupDir refuses a backup directory that is the data directory
// dataDir or anywhere inside it (symbolic links resolved, also for a
// directory not created yet): a copy renamed over an open database cuts
// the running process off its file, and a backup inside the data
// directory is lost with it and copied into every later backup of it.
func checkBackupDir(dir, dataDir string) error {
	d, err := resolveExisting(dir)
	if err != nil {
		return err
	}
	data, err := resolveExisting(dataDir)
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(data, d)
	if err != nil {
		return nil // different volumes: not inside
	}
	switch {
	case rel == ".":
		return fmt.Errorf("%s is the data directory: choose another directory", dir)
	case rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)):
		return fmt.Errorf("%s is inside the data directory %s: choose a directory outside it (a backup there is lost with the data directory)", dir, dataDir)
	}
	return nil
}

// resolveExisting returns the absolute path p with symbolic links
// resolved in its longest existing prefix (the rest, not created yet, is
// appended as written).
func resolveExisting(p string) (string, error) {
	p, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	rest := ""
	for {
		r, err := filepath.EvalSymlinks(p)
		if err == nil {
			return filepath.Join(r, rest), nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(p)
		if parent == p {
			return "", err
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = parent
	}
}

// backupViaOps asks a serve process whose ops listener is at opsAddr
// (opsDialAddr) to back up into dir. viaServe is false, with no error,
// when nothing listens there (or opsAddr is "", the listener off).
func backupViaOps(ctx context.Context, opsAddr, dir string) (files []string, viaServe bool, err error) {
	if opsAddr == "" {
		return nil, false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+opsAddr+"/admin/backup?dir="+url.QueryEscape(dir), nil)
	if err != nil {
		return nil, false, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, false, nil // no serve here: open the files
	}
	defer resp.Body.Close()
	var body struct {
		Files []string `json:"files"`
		Error string   `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		if body.Error == "" {
			body.Error = resp.Status
		}
		return nil, true, fmt.Errorf("backup by the running serve (ops.listen %s): %s", opsAddr, body.Error)
	}
	return body.Files, true, nil
}

// backup writes each open database into dir (created 0700) as a 0600 file
// of the same name: first DIR/.NAME.tmp, synced, then renamed, so a file
// of that name is always a complete copy. It returns the paths written.
//
// It refuses the data directory itself and any directory inside it
// (checkBackupDir).
func (a *app) backup(dir string) ([]string, error) {
	if err := checkBackupDir(dir, a.dataDir); err != nil {
		return nil, fmt.Errorf("%w: %w", ops.ErrBadBackupDir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: %w", ops.ErrBadBackupDir, err)
	}
	if same, err := sameDir(dir, a.dataDir); err != nil || same {
		if err == nil {
			err = fmt.Errorf("%s is the data directory: choose another directory", dir)
		}
		return nil, fmt.Errorf("%w: %w", ops.ErrBadBackupDir, err)
	}
	// Only the bbolt files of this data directory: a remote portal and an
	// etcd store are backed up where they run (etcdctl snapshot save).
	writers := map[string]func(io.Writer) (int64, error){}
	if a.core != nil {
		writers["portal.db"] = a.core.WriteBackup
	}
	if b, ok := a.support.(*support.Store); ok {
		writers["support.db"] = b.WriteBackup
	}
	if b, ok := a.store.(*store.Bolt); ok {
		writers["sessions.db"] = b.WriteBackup
	}
	if len(writers) == 0 {
		return nil, errors.New("nothing to back up here: the portal is remote and the stores are on etcd (back up etcd with etcdctl snapshot save)")
	}
	var files []string
	for _, name := range backupFiles {
		write, ok := writers[name]
		if !ok {
			continue
		}
		path := filepath.Join(dir, name)
		if err := writeFileAtomic(path, write); err != nil {
			return files, fmt.Errorf("backup %s: %w", name, err)
		}
		files = append(files, path)
	}
	return files, nil
}

// sameDir reports whether a and b are the same directory (os.SameFile).
func sameDir(a, b string) (bool, error) {
	sa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(sa, sb), nil
}

// writeFileAtomic writes path through a new temporary file in its
// directory (os.CreateTemp: O_EXCL, a planted symlink is not followed),
// synced, then renamed over path.
func writeFileAtomic(path string, write func(io.Writer) (int64, error)) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return errors.Join(err, os.Remove(tmp))
	}
	return nil
}
