package crmimport

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// File names of a CRM export, as the CRM writes them.
const (
	FileAccounts   = "accounts.csv"
	FileProducts   = "products.csv"
	FileSalesTeams = "sales_teams.csv"
	FilePipeline   = "sales_pipeline.csv"
)

// Files lists the files of a CRM export in the order they are read: master
// data first, because the pipeline refers to it.
var Files = []string{FileAccounts, FileProducts, FileSalesTeams, FilePipeline}

// headers holds the expected columns of each file, in order.
var headers = map[string][]string{
	FileAccounts:   {"account", "sector", "year_established", "revenue", "employees", "office_location", "subsidiary_of"},
	FileProducts:   {"product", "series", "sales_price"},
	FileSalesTeams: {"sales_agent", "manager", "regional_office"},
	FilePipeline:   {"opportunity_id", "sales_agent", "product", "account", "deal_stage", "engage_date", "close_date", "close_value"},
}

// ErrMissingFile means a file of the export was not found in the source.
var ErrMissingFile = errors.New("missing file")

// Source supplies the four files of a CRM export.
type Source struct {
	// Name identifies the source in the import run, e.g. a directory path
	// or "upload".
	Name string
	open func(file string) (io.ReadCloser, error)
}

// DirSource reads the export files from a directory. Other files in the
// directory are ignored.
func DirSource(dir string) Source {
	return Source{
		Name: dir,
		open: func(file string) (io.ReadCloser, error) {
			f, err := os.Open(filepath.Join(dir, file))
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%s: %w in directory %s", file, ErrMissingFile, dir)
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", file, err)
			}
			return f, nil
		},
	}
}

// ReaderSource reads the export files from readers keyed by file name, as
// received in a multipart upload. It rejects names that are not export
// files, so a misnamed upload fails with the expected names instead of
// reporting the real file as missing. Each reader is read once.
func ReaderSource(name string, files map[string]io.Reader) (Source, error) {
	for file := range files {
		if !slices.Contains(Files, file) {
			return Source{}, fmt.Errorf("unexpected file %q in CRM export: expected %s", file, strings.Join(Files, ", "))
		}
	}
	return Source{
		Name: name,
		open: func(file string) (io.ReadCloser, error) {
			r, ok := files[file]
			if !ok || r == nil {
				return nil, fmt.Errorf("%s: %w in upload %s", file, ErrMissingFile, name)
			}
			return io.NopCloser(r), nil
		},
	}, nil
}
