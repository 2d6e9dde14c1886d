// Package apiclient is the Go client of ordo's HTTP API, used by the CLI.
package apiclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/ordo-project/ordo/internal/validation"
)

// Client calls one ordo API server.
type Client struct {
	http *resty.Client
	// stream has no overall timeout, because an import streams progress for
	// as long as it runs.
	stream  *resty.Client
	baseURL string
}

// New returns a client for the server at baseURL, e.g.
// http://127.0.0.1:8080. token may be empty.
func New(baseURL, token string) *Client {
	baseURL = strings.TrimRight(baseURL, "/")
	c := resty.New().
		SetBaseURL(baseURL).
		SetTimeout(60*time.Second).
		SetHeader("Accept", "application/json")
	stream := resty.New().SetBaseURL(baseURL)
	if token != "" {
		c.SetAuthToken(token)
		stream.SetAuthToken(token)
	}
	return &Client{http: c, stream: stream, baseURL: baseURL}
}

// Error is an error answer of the API.
type Error struct {
	StatusCode int
	Code       string `json:"code"`
	Message    string `json:"message"`
	// Problems lists every invalid value of a rejected document, from
	// the errors field of a 422 response.
	Problems []validation.Problem `json:"-"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s (HTTP %d %s)", e.Message, e.StatusCode, e.Code)
}

// IsNotFound reports whether err is a 404 answer.
func IsNotFound(err error) bool {
	var apiErr *Error
	return errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound
}

// Get decodes GET path into out.
func (c *Client) Get(ctx context.Context, path string, query url.Values, out any) error {
	req := c.http.R().SetContext(ctx)
	if query != nil {
		req.SetQueryParamsFromValues(query)
	}
	return c.do(req, http.MethodGet, path, out)
}

// Post sends body as JSON and decodes the answer into out (may be nil).
func (c *Client) Post(ctx context.Context, path string, body, out any) error {
	req := c.http.R().SetContext(ctx).SetHeader("Content-Type", "application/json").SetBody(body)
	return c.do(req, http.MethodPost, path, out)
}

func (c *Client) do(req *resty.Request, method, path string, out any) error {
	resp, err := req.Execute(method, path)
	if err != nil {
		return fmt.Errorf("%s %s%s: %w (is ordo running? start it with `ordo dev`, or set --server)", method, c.baseURL, path, err)
	}
	if resp.IsError() {
		return decodeError(resp.StatusCode(), resp.Body())
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(resp.Body(), out); err != nil {
		return fmt.Errorf("decode answer of %s %s: %w", method, path, err)
	}
	return nil
}

func decodeError(status int, body []byte) error {
	var wrapped struct {
		Error    Error                `json:"error"`
		Problems []validation.Problem `json:"errors"`
	}
	if err := json.Unmarshal(body, &wrapped); err != nil || wrapped.Error.Message == "" {
		text := strings.TrimSpace(string(body))
		if len(text) > 300 {
			text = text[:300] + "…"
		}
		return &Error{StatusCode: status, Code: http.StatusText(status), Message: text}
	}
	wrapped.Error.StatusCode = status
	wrapped.Error.Problems = wrapped.Problems
	return &wrapped.Error
}

// PostBody sends body as it is, with contentType and query parameters,
// and decodes the response into out (may be nil).
func (c *Client) PostBody(ctx context.Context, path, contentType string, query url.Values, body []byte, out any) error {
	req := c.http.R().SetContext(ctx).SetHeader("Content-Type", contentType).SetBody(body)
	if query != nil {
		req.SetQueryParamsFromValues(query)
	}
	return c.do(req, http.MethodPost, path, out)
}

// GetText returns the body of GET path, for responses that are not JSON.
func (c *Client) GetText(ctx context.Context, path string, query url.Values) ([]byte, error) {
	req := c.http.R().SetContext(ctx).SetHeader("Accept", "*/*")
	if query != nil {
		req.SetQueryParamsFromValues(query)
	}
	resp, err := req.Get(path)
	if err != nil {
		return nil, fmt.Errorf("GET %s%s: %w (is ordo running? start it with `ordo dev`, or set --server)", c.baseURL, path, err)
	}
	if resp.IsError() {
		return nil, decodeError(resp.StatusCode(), resp.Body())
	}
	return resp.Body(), nil
}

// Stream posts body and calls onLine for every value of the
// newline-delimited JSON answer.
func (c *Client) Stream(ctx context.Context, path, contentType string, body io.Reader, onLine func([]byte) error) error {
	req := c.stream.R().SetContext(ctx).SetHeader("Content-Type", contentType).SetBody(body).SetDoNotParseResponse(true)
	req.SetHeader("Accept", "application/x-ndjson")
	resp, err := req.Post(path)
	if err != nil {
		return fmt.Errorf("POST %s%s: %w (is ordo running? start it with `ordo dev`, or set --server)", c.baseURL, path, err)
	}
	raw := resp.RawBody()
	defer raw.Close()
	if resp.StatusCode() >= 400 {
		data, _ := io.ReadAll(io.LimitReader(raw, 1<<20))
		return decodeError(resp.StatusCode(), data)
	}
	dec := json.NewDecoder(raw)
	for {
		var line json.RawMessage
		if err := dec.Decode(&line); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("connection to ordo lost while %s was running (%w): what was written before is kept, so run the same command again to finish", path, err)
		}
		if err := onLine(line); err != nil {
			return err
		}
	}
}
