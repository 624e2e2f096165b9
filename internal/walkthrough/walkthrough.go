// Package walkthrough reads the runnable walkthroughs of Portico's Markdown
// documents, so that a test can execute exactly what a reader is told to do.
//
// A walkthrough is a section of a document. Its fenced code blocks, in
// order, are of three kinds:
//
//   - a file to write, whose first line is a comment naming it, relative to
//     the reader's working directory: "// file: main.go" or
//     "# file: buf.yaml";
//   - shell commands to run, in a block tagged sh;
//   - commands and what they print, in a block tagged console ("$ " lines);
//     a curl command's output is the status line and the header fields the
//     real answer must have ([Command.Curl]).
//
// Other blocks are left alone. Start with [Section].
package walkthrough

import (
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"path"
	"strconv"
	"strings"
)

// A Block is one fenced code block.
type Block struct {
	// Lang is the first word of the fence's info string: "sh", "go"...
	Lang string
	// Text is the block's content, each line ending with a newline.
	Text string
	// Line is the 1-based line of the opening fence in the document.
	Line int
}

// File returns the path a file block names on its first line ("// file: x"
// or "# file: x"), and whether the block is a file block. The path is
// slash-separated and relative; a block naming an absolute path or one that
// leaves the working directory is not a file block.
func (b Block) File() (string, bool) {
	first, _, _ := strings.Cut(b.Text, "\n")
	for _, prefix := range []string{"// file: ", "# file: "} {
		if name, ok := strings.CutPrefix(first, prefix); ok {
			name = strings.TrimSpace(name)
			if name == "" || path.IsAbs(name) || path.Clean(name) != name || strings.HasPrefix(name, "../") || name == ".." {
				return "", false
			}
			return name, true
		}
	}
	return "", false
}

// Section returns the fenced code blocks of the section of markdown whose
// heading text is heading, up to the next heading of the same or a higher
// level. Only fences of three backticks at the start of a line are
// recognized. It fails if there is no such heading or a fence is not
// closed.
func Section(markdown, heading string) ([]Block, error) {
	lines := strings.Split(markdown, "\n")
	level := 0
	var (
		blocks []Block
		open   *Block
		body   strings.Builder
	)
	for i, line := range lines {
		if open != nil {
			if line == "```" {
				open.Text = body.String()
				blocks = append(blocks, *open)
				open = nil
				continue
			}
			body.WriteString(line)
			body.WriteByte('\n')
			continue
		}
		if n, text, ok := headingOf(line); ok {
			switch {
			case level == 0 && text == heading:
				level = n
			case level > 0 && n <= level:
				return blocks, nil
			}
			continue
		}
		if level == 0 {
			continue
		}
		if info, ok := strings.CutPrefix(line, "```"); ok {
			lang, _, _ := strings.Cut(info, " ")
			open = &Block{Lang: lang, Line: i + 1}
			body.Reset()
		}
	}
	switch {
	case level == 0:
		return nil, fmt.Errorf("no section %q", heading)
	case open != nil:
		return nil, fmt.Errorf("line %d: code block not closed", open.Line)
	}
	return blocks, nil
}

// headingOf parses an ATX heading ("## Text").
func headingOf(line string) (level int, text string, ok bool) {
	for level < len(line) && line[level] == '#' {
		level++
	}
	if level == 0 || level > 6 || level == len(line) || line[level] != ' ' {
		return 0, "", false
	}
	return level, strings.TrimSpace(line[level:]), true
}

// A Command is one "$ " line of a console block, with its continuation
// lines (ending with a backslash) joined, and the output shown below it: the
// lines up to a blank line, the next "$ " line or the end of the block.
type Command struct {
	// Line is the 1-based line of the command in the document.
	Line int
	// Text is the command, without "$ ".
	Text string
	// Output holds the lines shown below it.
	Output []string
}

// Commands returns the commands of a console block, in order.
func Commands(b Block) []Command {
	lines := strings.Split(strings.TrimSuffix(b.Text, "\n"), "\n")
	var out []Command
	for i := 0; i < len(lines); i++ {
		text, ok := strings.CutPrefix(lines[i], "$ ")
		if !ok {
			continue
		}
		c := Command{Line: b.Line + 1 + i}
		for strings.HasSuffix(text, `\`) && i+1 < len(lines) {
			i++
			text = strings.TrimSuffix(text, `\`) + " " + strings.TrimSpace(lines[i])
		}
		c.Text = text
		for i+1 < len(lines) && lines[i+1] != "" && !strings.HasPrefix(lines[i+1], "$ ") {
			i++
			c.Output = append(c.Output, lines[i])
		}
		out = append(out, c)
	}
	return out
}

// Words splits the command into words; see [Command.Curl] for the quoting
// understood.
func (c Command) Words() ([]string, error) { return shellWords(c.Text) }

// An Exchange is a curl command and the part of the answer it shows.
type Exchange struct {
	// Method defaults to GET, as for curl.
	Method string
	URL    string
	// Header holds the -H fields, in canonical form.
	Header http.Header
	// Status is the code of the status line shown first below the command.
	Status int
	// Response holds the response fields shown below the status line,
	// which the real answer must have with exactly these values; fields not
	// shown are not checked.
	Response http.Header
}

// Curl parses a curl command and its output. It reports false for a
// command that is not curl. Words are split as a POSIX shell does, for the
// subset an example needs: single and double quotes (with no expansion) and
// backslash escapes. Options other than -i, -X <method> and
// -H '<name>: <value>' are errors, so that a document cannot show a command
// its test would not send as shown; so are a missing status line and output
// lines that are not header fields.
func (c Command) Curl() (Exchange, bool, error) {
	words, err := c.Words()
	if err != nil {
		return Exchange{}, true, fmt.Errorf("line %d: %w", c.Line, err)
	}
	if len(words) == 0 || words[0] != "curl" {
		return Exchange{}, false, nil
	}
	ex, err := parseCurl(words[1:])
	if err != nil {
		return Exchange{}, true, fmt.Errorf("line %d: %w", c.Line, err)
	}
	if len(c.Output) == 0 {
		return Exchange{}, true, fmt.Errorf("line %d: no status line below the command", c.Line)
	}
	if ex.Status, err = parseStatus(c.Output[0]); err != nil {
		return Exchange{}, true, fmt.Errorf("line %d: %w", c.Line, err)
	}
	for _, line := range c.Output[1:] {
		name, value, ok := strings.Cut(line, ": ")
		if !ok {
			return Exchange{}, true, fmt.Errorf("line %d: output %q is not a header field", c.Line, line)
		}
		ex.Response.Add(name, value)
	}
	return ex, true, nil
}

func parseCurl(args []string) (Exchange, error) {
	ex := Exchange{Method: http.MethodGet, Header: http.Header{}, Response: http.Header{}}
	for i := 0; i < len(args); i++ {
		switch w := args[i]; {
		case w == "-i":
		case w == "-X" || w == "-H":
			if i+1 == len(args) {
				return Exchange{}, fmt.Errorf("%s without a value", w)
			}
			i++
			if w == "-X" {
				ex.Method = args[i]
				continue
			}
			name, value, ok := strings.Cut(args[i], ":")
			if !ok {
				return Exchange{}, fmt.Errorf("-H %q is not a header field", args[i])
			}
			ex.Header.Add(textproto.TrimString(name), textproto.TrimString(value))
		case strings.HasPrefix(w, "http://") || strings.HasPrefix(w, "https://"):
			if ex.URL != "" {
				return Exchange{}, errors.New("two URLs")
			}
			ex.URL = w
		default:
			return Exchange{}, fmt.Errorf("curl option %q is not supported", w)
		}
	}
	if ex.URL == "" {
		return Exchange{}, errors.New("no URL")
	}
	return ex, nil
}

// parseStatus parses "HTTP/1.1 204 No Content".
func parseStatus(line string) (int, error) {
	fields := strings.Fields(line)
	if len(fields) < 2 || !strings.HasPrefix(fields[0], "HTTP/") {
		return 0, fmt.Errorf("%q is not a status line", line)
	}
	code, err := strconv.Atoi(fields[1])
	if err != nil || code < 100 || code > 599 {
		return 0, fmt.Errorf("%q is not a status line", line)
	}
	return code, nil
}

// shellWords splits a command line as a POSIX shell would, for the subset
// a curl example needs: blanks separate words, single and double quotes
// group them (with no expansion), and a backslash outside single quotes
// escapes the next character.
func shellWords(s string) ([]string, error) {
	var (
		words []string
		word  strings.Builder
		in    bool // inside a word
		quote byte
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote == '\'':
			word.WriteByte(c)
		case c == '\\' && i+1 < len(s):
			i++
			word.WriteByte(s[i])
			in = true
		case quote == '"':
			word.WriteByte(c)
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == ' ' || c == '\t':
			if in {
				words = append(words, word.String())
				word.Reset()
				in = false
			}
		default:
			word.WriteByte(c)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unclosed %c in %q", quote, s)
	}
	if in {
		words = append(words, word.String())
	}
	return words, nil
}
