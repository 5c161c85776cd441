"""Python confirmations run after a database hit, for conditions a linear regex cannot state.

Each confirmer takes the matched fragment and the whole view it came from, and returns whether
the hit stands. They only run on values that already matched, so they cost clean traffic nothing.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from contextvars import ContextVar
from functools import lru_cache
from itertools import islice

from guard.engine.rules import SHELL_COMMANDS

MATCH_AT: ContextVar[int] = ContextVar("guard_match_at", default=-1)
"""Where, in the view, the fragment being confirmed starts (a character offset), set by the
detector around each confirmation; -1 when the caller does not know."""


def confirm_at(at: int, check: Callable[[str, str], bool], fragment: str, view: str) -> bool:
    """``check(fragment, view)`` told that the match starts at character ``at`` of ``view``
    (-1 if unknown), which it reads through :func:`locate`."""
    token = MATCH_AT.set(at)
    try:
        return check(fragment, view)
    finally:
        MATCH_AT.reset(token)


def locate(view: str, fragment: str) -> int:
    """Where ``fragment`` starts in ``view``: the detector's own match (:data:`MATCH_AT`) when it
    holds that text, else the first occurrence. A confirmer reading the first occurrence of a
    repeated fragment would judge a quoted copy in place of the match it was given."""
    at = MATCH_AT.get()
    if at >= 0 and view.startswith(fragment, at):
        return at
    return view.find(fragment)

_COMPARISON = re.compile(
    r"""(\d+|'[^']{0,20}'|"[^"]{0,20}")\s*\)*\s*(=|<>|!=|<=>|>|<|like)\s*\(*\s*"""
    r"""(\d+|'[^']{0,20}'?|"[^"]{0,20}"?)\s*$""",
    re.IGNORECASE,
)


def constant_comparison(fragment: str, view: str) -> bool:
    """A boolean operator compares two constants: equal operands (a tautology such as
    ``7414=7414`` or ``'a'='a'``) or two numbers (a true/false probe such as ``1=2`` or
    ``2>1``).

    Equality of the operands needs a back-reference, which the linear engines lack.
    """
    match = _COMPARISON.search(fragment)
    if match is None:
        return False
    left, op, right = match.groups()
    if left.isdigit() and right.isdigit() and op.lower() != "like":
        # An inequality after another comparison of numbers is arithmetic (2 < 3 and 5 > 4);
        # after a column's (id<0 or 3>2) it is the probe.
        before = locate(view, fragment)
        return (op in ("=", "<>", "!=", "<=>") or not _NUMBERS_COMPARED.search(view, 0, before)
                or (_EITHER.search(view) is not None
                    and not _at_least(_PROSE_WORD, _CONNECTIVES.sub(" ", view), 2)))
    if op not in ("=", "<>", "!=", "<=>") and left != right:
        # Two whole strings ordered ('b'>'a') are as constant as two numbers.
        return op.lower() != "like" and _WHOLE_STRING.fullmatch(left) is not None and (
            _WHOLE_STRING.fullmatch(right) is not None)
    return left.strip("'\"").lower() == right.strip("'\"").lower()


_NUMBERS_COMPARED = re.compile(r"\d\s*(?:[<>]=?|=)\s*\d")
_CONNECTIVES = re.compile(r"\b(?:and|or|xor|not|div)\b", re.IGNORECASE)
_EITHER = re.compile(r"\bor\b|\|\|", re.IGNORECASE)
"""An ``or`` between compared numbers, with no two other words around the connectives, makes
a tautology (``1<2 or 0<1``); ``2 < 3 and 5 > 4`` states arithmetic."""
_WHOLE_STRING = re.compile(r"'[^']*'|\"[^\"]*\"")
_BOOLEAN_OPERAND = re.compile(
    r"""['"`][\s)]*(?:or|and|xor|div|\|\||&&)[\s(]*(?:not\s+)?(['"]?)[\w.@$-]*(['"]?)""",
    re.IGNORECASE,
)


def quote_breaks_out(fragment: str, view: str) -> bool:
    """A quote before ``or``/``and`` and a comparison breaks out of a string the application
    opened, as a SQL lexer reads the value: the quote must close that string, so an even number
    of the same quote stands before it (pairs the value opened and closed itself, or doubled-quote
    escapes); after an odd number it opens a new string (``Should I use "IS NULL" or "= NULL"``).
    And the comparison must stand outside strings: when the operand is a quote that does not
    close before the comparator (``between ' and " in PowerShell``), the comparator is string
    content.
    """
    at = locate(view, fragment)
    operand = _BOOLEAN_OPERAND.match(fragment)
    if at < 0 or operand is None:
        return True
    opens, closes = operand.groups()
    if opens and not closes and operand.group(0).rstrip()[-1:] in ("'", '"'):
        return False
    quotes = view.count(view[at], 0, at)
    # MySQL reads \' inside a string as a quote character, not its end: a breakout either
    # way a database may lex the value stands.
    return quotes % 2 == 0 or (quotes - view.count("\\" + view[at], 0, at)) % 2 == 0


_BIND_COMPARISON = re.compile(
    r"[^'\"]{0,200}?(?:=|<>|!=|[<>]=?|\blike|\bin)\s*\(?\s*(?:%s|\?|:[a-z_]\w*|\$\d+|%\(\w+\)s)"
    r"\s*\)?\s*['\"]",
    re.IGNORECASE,
)


def not_parameterised(fragment: str, view: str) -> bool:
    """A ``SELECT … FROM … WHERE`` stands unless it is a parameterised query quoted as code: the
    statement opens a string literal and its condition compares to a bind placeholder (``%s``,
    ``?``, ``:name``, ``$1``) just before the string closes (``cursor.execute("SELECT name FROM t
    WHERE id = %s", …)``). Data does not carry placeholders; an injection carries values.
    """
    at = locate(view, fragment)
    if at <= 0 or view[at - 1] not in "'\"":
        return True
    return _BIND_COMPARISON.match(view, at + len(fragment)) is None


def statement_breaks_out(fragment: str, view: str) -> bool:
    """A whole SQL statement (``SELECT … FROM``, ``INSERT INTO``, ``UPDATE … SET``, ``DELETE
    FROM``, ``DROP TABLE``) stands as an injection only where something before it can end the
    literal, clause or statement the value is pasted into: a quote, a bracket (a subquery opens
    with one), a semicolon, the end of a comment, or a number or a single name (SQL Server runs
    ``WHERE id = 1 DELETE FROM users`` as two statements, and ``ORDER BY name DELETE …`` the
    same); or where the statement ends by commenting out the rest of the query (``--``, ``#``).

    A statement that opens the value, a subquery of one (``WITH tree AS (SELECT …``), or one
    that follows a sentence, a shell prompt or a ``#`` comment, is a statement written out as
    text, as manuals, tutorials and questions quote them: pasted into a query, it is read as a
    string or fails to parse. The parameterised form quoted as code is not an injection either
    (see :func:`not_parameterised`). ``EXEC`` of a system procedure, and a read of the system
    catalog (``FROM sysibm.sysdummy1``, ``pg_group``, ``all_users``), stand everywhere: that is
    reconnaissance, not an example.
    """
    if not not_parameterised(fragment, view):
        return False
    statement = fragment.lstrip().lower()
    if statement.startswith("exec") or _CATALOG_READ.search(statement):
        return True
    if fragment.rstrip().endswith(("--", "#")):
        return True
    at = locate(view, fragment)
    if at < 0:
        return True
    if _inside_opening_query(view, at):
        return False
    before = view[:at].rstrip()
    if _bracketed_in_text(view, before, at):
        return False
    if "\n" in view[:at] and not view[view.rfind("\n", 0, at) + 1 : at].strip():
        # The statement starts a line: what ends the line before is code, not its comment
        # (a slow-query log's "# Rows_examined: 1048576"; "1 -- x" then DROP on a new line).
        before = _LINE_COMMENT.sub("", before).rstrip()
    return (before.endswith(_STATEMENT_ENTRIES) or _STATEMENT_LEAD.search(before) is not None
            or _OPENING_BREAKOUT.match(before) is not None)


def _bracketed_in_text(view: str, before: str, at: int) -> bool:
    """Whether the statement at ``at`` is a whole query a log line or a sentence shows in square
    brackets (``bad SQL grammar [select id, name from customer where region = ?]``): a word and
    a blank before the ``[`` on the same line, with no comment or quote before it, and the first
    ``]`` after it closing a whole query on that line."""
    if not before.endswith("[") or not before[-2:-1].isspace() or _BEFORE_BRACKET.search(before):
        return False
    head = before[:-1].rstrip()
    close = view.find("]", at)
    if close < at or "[" in view[at:close] or "\n" in view[at:close]:
        return False
    if _OPENING_QUERY.match(view, at) is None:
        # A log line shows the query that failed; a write in brackets is no such line.
        return False
    return (head[-1:].isalpha() or head.endswith(":")) and quotes_whole_query(view[at:close])


_BEFORE_BRACKET = re.compile(r"--|#|/\*|['\"`]|\n")
"""What a log line's text before a bracketed query holds none of: a comment, a quote or a line
break (behind which a query could go on)."""


# A query in brackets is a subquery: the value of a numeric parameter, ``id=(SELECT …)``.
_OPENING_QUERY = re.compile(r"\s*(?:select|with)\b", re.IGNORECASE)
_STATEMENT_END = re.compile(r"[;#]|--|/\*")


_LINE_COMMENT = re.compile(r"(?:--|#)[^\n]*$")


def _inside_opening_query(view: str, at: int) -> bool:
    """Whether ``view[at:]`` continues a whole query that opens the value (``SELECT …`` or
    ``WITH … AS (``) with every literal before it closed and no semicolon or comment: a
    subquery, a UNION or the main query of that query, written out as text."""
    if _OPENING_QUERY.match(view) is None or _STATEMENT_END.search(view, 0, at) is not None:
        return False
    # A bracket closed that the query never opened (select 1) UPDATE …) ends the application's.
    if not all(view.count(quote, 0, at) % 2 == 0 for quote in "'\"`"):
        return False
    code = _QUOTED_STRING.sub(" ", view[:at])
    return code.count(")") <= code.count("(")


_WHOLE_QUERY = re.compile(
    r"\s*(?:select\s+(?:distinct\s+)?(?:top\s+\d+\s+)?[\w.*(][^;]{0,400}?\sfrom\s"
    r"|with\s+(?:recursive\s+)?\w+\s+as\s*\(|insert\s+into\s+\w|update\s+\w+\s+set\s"
    r"|delete\s+from\s+\w)",
    re.IGNORECASE,
)
"""The head of a whole statement: ``SELECT`` a select list ``FROM``, ``WITH name AS (``, ``INSERT
INTO``, ``UPDATE … SET``, ``DELETE FROM``; not a keyword glued to a quote (``select' <> 1``)."""
_QUERY_PROBE = re.compile(
    r"--|#|/\*|;\s*\S|\|\||&&|@@|\b0x[0-9a-f]|\b(?:xor|union|sleep|benchmark|waitfor|delay"
    r"|pg_sleep|randomblob|load_file|outfile|dumpfile|exec|execute|xp_\w+|char|chr"
    r"|extractvalue|updatexml|information_schema|procedure|into\s+(?:out|dump)file"
    # Reads of the server itself and error-based probes: reconnaissance, not an example.
    r"|version|current_\w+|session_user|system_user|user\s*\(|database\s*\(|schema\s*\("
    r"|sys\w*|\w*dual|pg_\w+|sqlite_\w+)\b|\d\s*/\s*0\b"
    # OR, HAVING and CASE WHEN as probes use constants (OR 1=1, HAVING 1=1, CASE WHEN (1=1));
    # on columns (OR body ILIKE …, CASE WHEN score >= 90) they are a report's logic.
    r"|\bor\b\s*(?:not\b\s*)?(?:['\"\d(.@+~!-]|[nx]'|true\b|false\b|null\b|pi\s*\()"
    r"|\bhaving\s+\(*\s*['\"\d.@+~!-]"
    r"|\bcase\s+when\s+\(*\s*(?:['\"\d]|ascii|ord|substr|substring|mid|length)"
    # LIKE '%' matches every row: a tautology spelt as a pattern.
    r"|\blike\s+['\"]%+['\"]",
    re.IGNORECASE,
)


def quotes_whole_query(view: str) -> bool:
    """Whether the value is one SQL query written out as text: it opens with ``SELECT``,
    ``WITH``, ``INSERT``, ``UPDATE`` or ``DELETE``, its quotes pair up, and it holds nothing an
    injection adds to a query (a comment, a second statement, ``OR``, ``UNION``, a delay, a file
    or catalog read, a read of the server's version, user or settings, a ``CASE WHEN`` or
    division-by-zero probe, an encoded string). Pasted into a query it is a string or a syntax
    error, as :func:`statement_breaks_out` reads a whole statement (``select distinct country
    from users order by country;``)."""
    if _WHOLE_QUERY.match(view) is None or view.count("'") % 2 or view.count('"') % 2:
        return False
    return _QUERY_PROBE.search(view) is None and not _CATALOG_READ.search(view.lower())


def query_breaks_out(fragment: str, view: str) -> bool:
    """A quote before a clause breaks into the query the value lands in, unless the value is a
    whole query written out (:func:`quotes_whole_query`), whose literals pair up."""
    return not quotes_whole_query(view)


_STATEMENT_ENTRIES = ("'", '"', "`", "(", ")", "[", "]", ";", "*/")
_OPENING_BREAKOUT = re.compile(r"\s*[\w.@-]{0,30}(['\"])[^'\"]*$")
"""A value that opens by closing the application's string (``x' COLLATE … DELETE FROM``): a
short token and one quote, with no other quote before the statement."""
_STATEMENT_LEAD = re.compile(r"(?:^|[\s,=<>])[-+]?\d+(?:\.\d+)?$|^[\w.$@]+$")
"""A number ending what comes before the statement, or a single name making it up."""
_CATALOG_READ = re.compile(
    r"\bfrom\s+[`\"\[]?(?:(?:sys|sysibm|syscat|sysstat|information_schema|pg_catalog"
    r"|performance_schema|mysql)\s*\.|master\s*\.\s*(?:dbo\s*)?\.|pg_\w|v\$|dba_\w"
    r"|all_(?:users|tables|tab_columns|objects|db_links|source)\b|sqlite_(?:master|schema)\b"
    r"|msysobjects\b|sys(?:objects|columns|users|databases|servers|logins|processes|comments"
    r"|files|tables|dummy1)\b)"
)


_BACKTICK_COMMAND = re.compile(r"`\s*(?:[!({]\s*)*(?:[\w./-]*/)?([A-Za-z][\w.-]*)")


_CODE_SPAN = re.compile(
    r"(?:^|(?<=[\s(\"'])|(?<=[A-Za-z]:))(``?)[^`\n]+\1(?:__?)?(?=$|[\s.,;:!?)\"'])"
)
"""A Markdown code span or a reStructuredText literal (two backticks), role (``:ref:`…```) or
link (`` `text <url>`_ ``), set apart by a blank, a bracket, a quote or the start."""
_PROSE_WORD = re.compile(r"[A-Za-z]{2,}")
_SHELL_SYNTAX = re.compile(r"\$\(|[|&<>]|;\S")


_FENCE_RUN = re.compile(r"^[ \t]{0,3}(`{3,})(?=[^`\n]*$)", re.MULTILINE)
"""A fence's run of backticks: a backtick fence's info string holds no backtick (CommonMark), so
a line such as ```` ```a` ```` opens no fence."""
_SHELL_EVASION = re.compile(r"\$\{?IFS\b\}?(?=[\w/.$'\"-])|\$\{\w+:-?\d+(?::\d+)?\}", re.IGNORECASE)
"""A blank spelt ``${IFS}`` between words, or a character cut out of a variable
(``${PATH:0:1}``): evasions, which no command quoted for a reader needs."""
_HARMFUL_SPAN = re.compile(
    # A download run: piped into a shell or an interpreter (through sudo, env or busybox), fed
    # to one as a file or a string, or saved and run after it.
    r"\|\s*(?:(?:sudo|doas|env|busybox|exec|command)(?:\s+-\w+)*\s+)*(?:(?:ba|z|k|da|c|tc|fi)?sh"
    r"|python[23]?|perl|ruby|php|node|iex)\b"
    r"|<\(\s*(?:curl|wget)\b|\$\(\s*(?:curl|wget)\b"
    r"|\b(?:curl|wget)\b[^`]*(?:&&|;)\s*(?:(?:ba|z|da)?sh|python[23]?|perl|ruby|php|node)\b"
    # A removal of home, root or a system directory; a raw write to a disk.
    r"|\brm\s+(?:-[a-z]+\s+)*[\"']?(?:~|\$\{?home\}?|/|\*|\.)(?:/?\*?[\"']?(?=[\s`;&|]|$)"
    r"|/?(?:var|etc|usr|home|root|opt|srv|boot|lib|bin|sbin)(?:/[\w.-]+)?/?\*?(?=[\s`;&|\"']|$))"
    r"|\bdd\b[^`]*\bof=/dev/|\bmkfs\b|\bkill\s+-(?:9|kill)\s+-1\b|\bcrontab\s+-r\b"
    # A write into a shell's startup file, an SSH key list or the crontab.
    r"|(?:>>?|\s-[oO]\s*|--output(?:-document)?[=\s]|\btee\s+(?:-a\s+)?)\s*\S*(?:\.(?:bashrc"
    r"|bash_profile|profile|zshrc|zprofile)|authorized_keys|/etc/cron|/etc/profile)\b"
    # A remote shell.
    r"|/dev/(?:tcp|udp)/|\b(?:nc|ncat|netcat)\b[^`]*\s-[ec]\b|\bsocat\b[^`]*\bexec:",
    re.IGNORECASE,
)
"""What a code span does that no quotation excuses: a download piped into a shell or an
interpreter, a removal of the home or root directory, a write into a shell's startup file or
an SSH key list, a socket to a remote shell. A double-quoted shell string runs a span's
backticks, so such a span is the payload whatever the sentence around it says."""
_QUOTE_MARKER = re.compile(r"^[ \t]*(?:>[ \t]?)+", re.MULTILINE)
_FENCE_LINE = re.compile(r"[ \t]{0,3}(`{3,}(?=[^`\n]*$)|~{3,})")


def _fenced_blocks(view: str) -> list[tuple[int, int]]:
    """The spans of a Markdown document's fenced code blocks (a line opening with three or more
    backticks or tildes, to a line opening with the same run, or to the end), read line by
    line."""
    blocks: list[tuple[int, int]] = []
    opened: tuple[int, str] | None = None
    at = 0
    for line in view.splitlines(keepends=True):
        fence = _FENCE_LINE.match(line)
        if fence is not None:
            if opened is None:
                opened = (at, fence.group(1))
            elif fence.group(1).startswith(opened[1]) and not line[fence.end():].strip():
                blocks.append((opened[0], at + len(line)))
                opened = None
        at += len(line)
    if opened is not None:
        blocks.append((opened[0], len(view)))
    return blocks


def _at_least(pattern: re.Pattern[str], text: str, count: int) -> bool:
    """Whether ``pattern`` matches ``text`` at least ``count`` times: the search stops at the
    ``count``-th match, where ``findall`` would go through a long value to the end."""
    return len(list(islice(pattern.finditer(text), count))) == count


def _in_prose_code_span(fragment: str, view: str) -> bool:
    """The fragment lies inside a Markdown code span (`` `du -sh * | sort -h` ``, set apart
    from the words around it by spaces or punctuation, as prose sets it) and the text
    around the spans is prose: three or more words and no shell syntax of its own (a pipe,
    ``&``, a redirection, ``$(``, or a ``;`` glued to the next word). A shell does not read a
    code span out of a sentence; an injection needs the separator or substitution to stand in
    the value itself (`` `id` ``, ``x;`id` ``), where the text around it is not prose. A code
    span in the cell of a table (:func:`reads_as_table`) is quoted too. The text around leaves
    out fenced code blocks (:func:`_fenced_blocks`), whose code the document quotes, and the
    ``>`` that marks a quoted line; a hit inside a fenced block is no span's, nor one in a span
    that spells a shell evasion (:data:`_SHELL_EVASION`).
    """
    # A span needs two backticks; most values have none, and the span regex has no literal
    # start to skip to, so it would try every position.
    if view.count("`") < 2:
        return False
    at = locate(view, fragment)
    if at < 0:
        return False
    fences = _fenced_blocks(view) if "```" in view or "~~~" in view else []
    if any(start <= at < end for start, end in fences):
        return False
    spans = list(_CODE_SPAN.finditer(view))
    holding = [span for span in spans if span.start() <= at < span.end()]
    if not holding or any(_SHELL_EVASION.search(span.group()) or _HARMFUL_SPAN.search(span.group())
                          for span in holding):
        return False
    outside = view
    for start, end in reversed(fences):
        outside = outside[:start] + " " + outside[end:]
    outside = _QUOTE_MARKER.sub(" ", _CODE_SPAN.sub(" ", outside))
    return (
        _at_least(_PROSE_WORD, outside, 3) and _SHELL_SYNTAX.search(outside) is None
    ) or reads_as_table(view)


_TABLE_BREAKS = re.compile(r"[;&`<>$(){}\n\r]|\|\||[^\s|]\||\|[^\s|]")
_CELL_COMMAND = re.compile(r"\s*" + SHELL_COMMANDS + r"(?:\.exe)?\b(.*)", re.IGNORECASE | re.DOTALL)
_CELL_WORDS = re.compile(r"(?:\s+[^\W\d_]+)*\s*")
_CELL_CODE = re.compile(r"`(?:[^`|\n;&$<>(){}\\]|\\\|)+`|</?[a-z]+>|\s[<>]=?\s*(?=\d)",
                        re.IGNORECASE)
"""A code span, a bare inline tag (``<kbd>``) or a comparison with a number (``> 10 MB``)
inside a cell: text, not shell syntax. A code span may hold a pipe escaped for the table
(``cat file \\| wc -l``), as GitHub's tables require."""
_CELL_PROSE = re.compile(r"\((?:[^\W\d_]+[ \t,.'-]*)+\)")
_CELL_PAUSE = re.compile(r"([\w-]+);(?=[ \t]+([^\s|]*))")
"""A cell's prose: words in brackets, a semicolon between words (``Allowed origins; see the list
(not recommended in production)``), neither after nor before a command's name (``id; ls``,
``note; wget …``) nor before a path."""


def _prose_pause(pause: re.Match[str]) -> str:
    """A semicolon between two words that name no command, dropped from a cell's text."""
    word, following = pause.group(1), pause.group(2)
    if (_COMMAND_NAME.fullmatch(word) or _COMMAND_NAME.fullmatch(following)
            or "/" in following or "." in following):
        return pause.group()
    return word


def _prose_brackets(brackets: re.Match[str]) -> str:
    """Bracketed words that open with no command's name, dropped from a cell's text."""
    words = brackets.group()[1:].split()
    return brackets.group() if words and _COMMAND_NAME.fullmatch(words[0]) else " "
_TABLE_RULE = re.compile(r"\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)+\|?")
_HEADING = re.compile(r"#{1,6}\s+[^|`;&$<>]*")


def _table_cells(line: str) -> int:
    """How many cells a table row holds (0 when ``line`` is not one): a pipe at each end,
    single pipes set apart by blanks between the cells, no other shell syntax (code spans in
    cells hold none either), and a command word at the head of a cell followed by words alone,
    not by an option, path or number."""
    row = _CELL_CODE.sub(" code ", line.strip())
    if not (row.startswith("|") and row.endswith("|")) or len(row) < 2:
        # A row opens and closes with a pipe: to a shell, the leading one is a syntax error and
        # so is the trailing one at the end of a command, so nothing in the row runs.
        return 0
    row = _CELL_PAUSE.sub(_prose_pause, _CELL_PROSE.sub(_prose_brackets, row[1:-1]))
    if _TABLE_BREAKS.search(row):
        return 0
    cells = row.split("|")
    for cell in cells:
        command = _CELL_COMMAND.match(cell)
        if command is not None and not _CELL_WORDS.fullmatch(command.group(1)):
            return 0
    return len(cells)


def reads_as_table(view: str) -> bool:
    """Whether the value is a Markdown or plain-text table: one row of three or more cells
    (``| Name | Type | Default |``), or rows of two or more under a rule (``|---|---|``), with
    headings and blank lines around them. A command word alone in a cell (``Type``, ``Host``,
    ``File size``) is a heading or a value, and a code span in a cell quotes a command; a
    pipeline stage passes something to the command."""
    if view.count("|") < 2:
        return False
    lines = view.strip().replace("\r", "").split("\n")
    if len(lines) == 1:
        return _table_cells(lines[0]) >= 3
    rows = rules = 0
    for line in lines:
        if _TABLE_RULE.fullmatch(line.strip()):
            rules += 1
        elif line.strip() and not _HEADING.fullmatch(line.strip()):
            if _table_cells(line) < 2:
                return False
            rows += 1
    return rules > 0 and rows > 0


_FILTER_STAGE = re.compile(
    r"\|\s*(grep|egrep|fgrep|sort|uniq|wc|head|tail|less|more|cut|tr|column|jq|nl|tac|base64"
    r"|sha256sum|sha1sum|md5sum)\b((?:[^|;&`$<>()\\\n\r#]|(?<=\S)#)*)(?:#[^\n\r]*)?(?:\||$|\r?\n)"
)
"""A filter stage, to the next stage, the end of its line (what follows is the output a thread
pastes, or a command judged on its own) or a shell comment (a ``#`` after a blank; inside a
word, ``x#y``, it is the word's)."""
_FILTER_OPERANDS = {"grep": 1, "egrep": 1, "fgrep": 1, "jq": 1, "tr": 2}
"""How many operands a filter takes that are not files (a pattern, a jq program, two sets)."""
_FILE_OPTIONS = frozenset({"-r", "-R", "--recursive", "-f", "--file", "-d", "--directories",
                           "--from-file", "-T", "--files0-from", "-o", "--output"})


def _names_a_file_option(word: str) -> bool:
    """Whether a word is one of :data:`_FILE_OPTIONS` (``-f``, ``--file=x``) or holds one: in
    a bundle of short options (``-ri``, ``-rA1``), with its argument attached
    (``-o/root/.ssh/…``), or as a long option abbreviated as GNU tools accept (``--rec``,
    ``--dereference-recursive``)."""
    name = word.split("=", 1)[0]
    if name in _FILE_OPTIONS:
        return True
    if word.startswith("--"):
        return len(name) >= 5 and any(
            option.startswith(name) or (option.startswith("--") and option[2:] in name)
            for option in _FILE_OPTIONS if option.startswith("--"))
    letters = _SHORT_OPTIONS.match(word)
    return letters is not None and any("-" + letter in _FILE_OPTIONS for letter in letters.group(1))


_SHORT_OPTIONS = re.compile(r"-([A-Za-z]+)")


def _filters_a_pipeline(fragment: str, view: str) -> bool:
    """Whether ``fragment`` is a pipe into a text filter (``| grep -i error``, ``| sort -rn``,
    ``| wc -l``) after a command's output, reading no file of its own (no file operand, no
    ``-r`` or ``-f``): a stage that only narrows what the command before it printed runs
    nothing new. The command before it is judged on its own (``cmdi-command-line``, the path
    rules)."""
    at = locate(view, fragment)
    if at <= 0 or not fragment.startswith("|") or view[at - 1] == "|" or not view[:at].strip():
        return False
    stage = _FILTER_STAGE.match(view, at)
    if stage is None:
        return False
    try:
        words = shlex.split(stage.group(2))
    except ValueError:
        return False
    if any(map(_names_a_file_option, words)):
        return False
    operands = [word for word in words if not word.startswith("-") and not word.isdigit()]
    return len(operands) <= _FILTER_OPERANDS.get(stage.group(1), 0)


_SEPARATED_WORD = re.compile(r"(?:\\n|[^\w\s])*\s*([\w./-]*)")
_ENTITY = re.compile(r"&(?:copy|reg|trade|times|divide|para|sect|deg|micro|middot);")
"""HTML entities whose names a shell could read as a command after ``&`` (``&copy;``)."""
_COMMAND_AFTER = re.compile(r"\s*(?:[\w./-]*/)?" + SHELL_COMMANDS + r"\b", re.IGNORECASE)
_INDENTED_LINE = re.compile(r"(?:\r?\n|\r)[ \t]+")


_UNIX_ONLY = frozenset({
    "id", "uname", "file", "chmod", "chown", "chgrp", "touch", "head", "tail", "grep", "egrep",
    "awk", "gawk", "sed", "xargs", "env", "printenv", "export", "expr", "which", "whereis",
    "uptime", "w", "who", "last", "df", "du", "sudo", "su", "vi", "vim", "nano", "eval", "exec",
    "source", "unset", "alias", "nohup", "crontab", "mkfifo", "mknod", "gcc", "mail", "sendmail",
    "useradd", "usermod", "passwd", "base64", "ifconfig", "ip", "ss", "top", "killall", "pkill",
    "printf", "tac", "nl", "dash", "zsh", "ksh", "csh", "tcsh", "xterm", "lsof", "fuser",
    "chattr", "lsattr", "getent", "groups", "stat", "strings", "od", "xxd", "hexdump", "dd",
    "busybox", "locate", "halt", "reboot", "dig", "host", "traceroute", "nmap", "ncat", "socat",
    "netcat", "nc", "mount",
})
"""Command words only a Unix shell knows: neither cmd nor PowerShell has them, as programs or
aliases, and Unix file names are case sensitive, so ``FILE`` or ``Last`` starting a line of
pasted C or output runs nothing."""


def spelt_for_no_shell(fragment: str) -> bool:
    """Whether the command word after a line break in ``fragment`` is a Unix-only command
    written in any case but lower (see :data:`_UNIX_ONLY`): the next line of pasted code or
    output (``FILE *fp``, ``Last login:``). After ``;``, ``&`` or ``|`` it stands: a
    case-insensitive file system (macOS, Cygwin) runs ``ID`` as ``id``."""
    if not fragment.startswith(("\n", "\r")):
        return False
    word = _separated_word(fragment)
    return not word.islower() and word.lower() in _UNIX_ONLY


def _separated_word(fragment: str) -> str:
    """The command word after the separator in ``fragment``, without its directory."""
    separated = _SEPARATED_WORD.match(fragment)
    return separated.group(1).rsplit("/", 1)[-1] if separated is not None else ""


def opens_indented_mixed_case(fragment: str) -> bool:
    """Whether ``fragment`` is a line break, the next line's indentation and a word in mixed case
    (a traceback's ``  File "app.py"``, an SSH config's ``  HostName``): not how Unix spells a
    command, nor how cmd payloads are written, but how tracebacks and configuration files name
    things."""
    if _INDENTED_LINE.match(fragment) is None:
        return False
    word = _separated_word(fragment)
    return word[:1].isupper() and not word.isupper()


def names_no_command(fragment: str, view: str) -> bool:
    """Whether the word after the separator in ``fragment`` is text, not a command: an indented
    word in mixed case (:func:`opens_indented_mixed_case`), a Dockerfile instruction
    (:func:`opens_keyword_line`), a Unix-only command in capitals on a new line
    (:func:`spelt_for_no_shell`), ``at`` reading a stack frame (:func:`schedules_nothing`),
    a C argument's address (:func:`takes_an_address`), a GraphQL field
    (:func:`selects_graphql_field`), a definition, an option or a NAME line
    (:data:`_SETS_A_NAME`), a name's bracketed alternatives (:func:`alternates_in_a_name`) or a
    Kusto query's operator (:data:`_KUSTO_QUERY`). Read the same way by the separator
    rule and the model's separator feature."""
    return (opens_indented_mixed_case(fragment) or opens_keyword_line(fragment, view)
            or spelt_for_no_shell(fragment) or schedules_nothing(fragment, view)
            or takes_an_address(fragment, view) or selects_graphql_field(fragment, view)
            or _DIRECTORY_ON_A_PATH.search(fragment) is not None
            or _SETS_A_NAME.match(view, max(0, locate(view, fragment))) is not None
            or alternates_in_a_name(fragment, view)
            or (fragment.startswith("|") and _pipes_no_command(fragment, view)))


_KUSTO_QUERY = re.compile(
    r"\s*[A-Za-z_]\w*[ \t]*(?:\r?\n[ \t]*\|[ \t]*(?:where|summarize|project(?:-away|-rename)?"
    r"|extend|top|take|limit|sort|order|join|render|count|distinct|parse|mv-expand|make-series|union"
    r"|lookup|evaluate|search|as|getschema|top-nested|sample)\b[^\r\n]*)+\s*"
)
"""A Kusto (KQL) query: a table's name, then operator lines each opened by ``|``
(``| top 10 by Failures``), as Sentinel and Log Analytics write them."""


def _pipes_no_command(fragment: str, view: str) -> bool:
    """Whether the ``|`` opens a Kusto operator in a whole Kusto query (:data:`_KUSTO_QUERY`).
    (A YAML block scalar's ``run: |`` is a pipe to a shell: bash carries it to the next line.)"""
    return "\n" in view and _KUSTO_QUERY.fullmatch(view) is not None


_SETS_A_NAME = re.compile(
    r"(?:\\n|[;\n\r])[ \t\r\n]*(?:alias[ \t]+(?:[/~]|[^\s=;|&]+=)|set[ \t]+(?:\$[a-z_]\w*[ \t]+\S"
    r"|[-+][a-z]+\b)|(?!(?:env|sudo|doas|nice|nohup|time|timeout|xargs|exec|command|busybox"
    r"|(?:ba|z|k|da|c|tc|fi)?sh|python\d?|perl|ruby|node|php)\b)[\w.-]+[ \t]+-[ \t]+"
    # Its description is words: no option or path later on the line (rm - f x -rf /var/www).
    r"(?!" + SHELL_COMMANDS + r"\b)(?![^\n]*?(?:[ \t]-|/))[a-z]{2,}[ \t]+[a-z])",
    re.IGNORECASE,
)
"""Words named as commands that run nothing: nginx's ``alias /srv/static/;`` and ``set $name
value;``, a shell's or tmux's alias definition (``alias ll='ls -alF'``) and option
(``set -euo pipefail``, ``set -g mouse on``), and a manual's NAME line (``kill - send a signal
to a process``)."""


_GRAPHQL_DOCUMENT = re.compile(
    r"\s*(?:query|mutation|subscription|fragment)\b[^{}]{0,200}\{", re.IGNORECASE
)
_GRAPHQL_FIELD = re.compile(r"\n[ \t]*(\w+)[ \t]*(?:$|[\n({])")
_GRAPHQL_FIELD_NAMES = frozenset({
    "id", "type", "file", "host", "time", "date", "last", "stat", "groups", "source", "start",
    "call", "query", "at", "top", "head", "tail", "more", "less", "find", "mail", "route", "set",
    "env", "who", "df", "du", "ps", "dir", "md", "net", "zip", "locate", "uptime",
})
"""Command words that name fields a schema has (``id``, ``type``, ``date``, ``groups``); not a
shell, a power switch or a network tool, which a shell handed the document would run."""


def selects_graphql_field(fragment: str, view: str) -> bool:
    """Whether the word after a line break is a field of a GraphQL selection (``user(id: $id) {``
    then ``id`` on a line of its own): the value is a GraphQL operation (opened by its keyword:
    a bare ``{`` is also a shell's command group), its braces balanced, and the word, one a
    schema names fields with (:data:`_GRAPHQL_FIELD_NAMES`), stands alone on its line, bare or
    with arguments or a selection of its own."""
    if not fragment.startswith("\n") or _GRAPHQL_DOCUMENT.match(view) is None:
        return False
    field = _GRAPHQL_FIELD.match(view, max(0, locate(view, fragment)))
    return (
        field is not None and field.group(1).lower() in _GRAPHQL_FIELD_NAMES
        and view.count("{") == view.count("}")
    )


_DIRECTORY_ON_A_PATH = re.compile(r"/[\w.-]+/\Z")
"""A command's name between two slashes (``/src/cmd/server/main.go``): a directory the path
goes on from, not a program it names."""


_ADDRESS = re.compile(r"&[ \t]*[a-z_]\w*[ \t]*[),]", re.IGNORECASE)
_ARGUMENT_OPENS = re.compile(r"[a-z_]\w*[ \t]*\((?:[^()\n]{0,120},)?[ \t]*$", re.IGNORECASE)


def takes_an_address(fragment: str, view: str) -> bool:
    """Whether ``&`` takes a C argument's address (``CIRCLEQ_INIT(&head);``,
    ``clock_gettime(CLOCK_MONOTONIC, &start)``): a name alone, as an argument of a function's
    call (after ``name(`` and its other arguments), before a closing parenthesis or a comma.
    No shell reads ``f(&`` or ``f(a, &`` as a separator before a command: bash refuses the
    parenthesis, and cmd looks for a program named ``head)``."""
    if _ADDRESS.match(fragment) is None:
        return False
    at = locate(view, fragment)
    return at > 0 and _ARGUMENT_OPENS.search(view, max(0, at - 160), at) is not None


_AT_FRAME = re.compile(
    r"[ \t]+(?:/(?!(?:delete|yes|interactive|every|next)\b)\w|(?!(?:now|noon|midnight|teatime"
    r"|today|tomorrow|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mon|tue|wed|thu|fri|sat"
    r"|sun)[a-z]*\b)[a-z_])",
    re.IGNORECASE,
)
"""A stack frame after ``at``: an absolute path (not one of cmd's ``at`` switches) or a name
that is no time word (``Layer.handle``, ``com.example.Foo.bar``, ``new Promise``)."""


def schedules_nothing(fragment: str, view: str) -> bool:
    """Whether the command word after the separator is ``at`` reading a stack frame
    (``    at /srv/app/routes.js:57:23``, ``\tat com.example.Foo.bar(Foo.java:42)``): Unix
    ``at`` takes its first word as the time and refuses such a line ("Garbled time"), cmd's
    ``at`` needs a time or ``\\\\host`` first, so nothing is scheduled or run. A time, an
    option, a quote or a variable after ``at`` stands."""
    separated = _SEPARATED_WORD.match(fragment)
    if separated is None or separated.group(1).lower() != "at":
        return False
    at = locate(view, fragment)
    return at >= 0 and _AT_FRAME.match(view, at + separated.end(1)) is not None


def separator_command_runs(fragment: str, view: str) -> bool:
    """``cmdi-separator-command``: the separator must reach a command (:func:`unix_backtick`).
    It reaches none in a table (:func:`reads_as_table`: pipes, breaks and code spans between
    cells), into a text filter (:func:`_filters_a_pipeline`), between a syntax summary's
    choices (:func:`lists_keywords`), in an HTML entity (``&copy;``,
    ``&reg;``), or on an indented line that opens with a word in mixed case (``  File "app.py",
    line 42`` in a traceback, ``  HostName`` in an SSH config). After ``&``, ``;`` or ``|`` a
    mixed-case word still counts: cmd reads commands in any case. The detector reads a rule's
    later matches when one is turned down, so a let-off entity hides nothing after it."""
    if _ENTITY.fullmatch(fragment):
        # An entity is text unless a command follows its ";" (which a shell reads as a break).
        at = locate(view, fragment) + len(fragment)
        return _COMMAND_AFTER.match(view, at) is not None
    if _filters_a_pipeline(fragment, view):
        return False
    if names_no_command(fragment, view) or lists_keywords(fragment, view):
        return False
    return unix_backtick(fragment, view) and not reads_as_table(view)


_NAME_ALTERNATION = re.compile(r"[\w.-]\((?:[\w.*-]+\|)+[\w.*-]+\)")
"""A file name's alternatives in brackets glued to it (``index.(bt|db|dir|pag)``): bash refuses
a bracket after a word, so nothing there runs."""


def alternates_in_a_name(fragment: str, view: str) -> bool:
    """Whether the ``|`` lies inside a name's bracketed alternatives (:data:`_NAME_ALTERNATION`)."""
    if not fragment.startswith("|"):
        return False
    at = locate(view, fragment)
    return any(
        group.start() < at < group.end()
        for group in islice(_NAME_ALTERNATION.finditer(view, max(0, at - 100), at + 100), 8)
    )


_KEYWORDS = r"[A-Z][A-Z_]*(?:[ \t]+[A-Z][A-Z_]*)*"
_WORDS = r"[a-z][\w-]*(?:[ \t]+[a-z][\w-]*)*"
_KEYWORD_CHOICE = re.compile(
    r"[\[{][ \t]*" + _KEYWORDS + r"(?:[ \t]*\|[ \t]*" + _KEYWORDS + r")+[ \t]*[\]}]"
    # A manual's choice of subcommands in braces ({ add | change | del | show }): a shell's
    # group needs a ";" before its "}", so the line is a syntax error and nothing in it runs.
    r"|\{[ \t]+" + _WORDS + r"(?:[ \t]+\|[ \t]+" + _WORDS + r")+[ \t]+\}"
)


def lists_keywords(fragment: str, view: str) -> bool:
    """Whether the ``|`` is a syntax summary's choice between keywords in capitals
    (``[ ADD | SET | DROP ]``, ``{ ASC | DESC }``), as SQL references write them, or between
    lowercase subcommands in braces (``{ add | del | show }``), as manuals write them: the
    brackets hold nothing but the choice."""
    if not fragment.lstrip().startswith("|"):
        return False
    at = locate(view, fragment)
    return at >= 0 and any(
        choice.start() < at < choice.end()
        for choice in islice(_KEYWORD_CHOICE.finditer(view, max(0, at - 200), at + 200), 8)
    )


_DOCKERFILE = re.compile(r"(?:\s*#[^\n]*\n)*\s*(?:FROM|ARG)[ \t]+\S")
_INSTRUCTIONS = frozenset({
    "FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER",
    "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
})
_NAME_GOES_ON = re.compile(r"(?:\.[a-z_][\w-]*)*[:=](?!=)", re.IGNORECASE)


def word_is_a_name(view: str, end: int) -> bool:
    """Whether the command word ending at ``end`` is a name rather than a command: a key being
    set straight after it (``id: 7``, ``&id=15``), also as the head of a dotted key
    (``net.core.somaxconn=1024``, one word no shell finds). A blank before the ``=``
    (``rm = -rf /``) or a dotted program (``nc.traditional -c bash``) is a command."""
    return _NAME_GOES_ON.match(view, end) is not None


def opens_keyword_line(fragment: str, view: str) -> bool:
    """A Dockerfile's instruction at a line start (``COPY . .`` in a value that opens with
    ``FROM python:3.12-slim``) is not a command after a line break. Only there: cmd reads its
    commands in capitals too, so upper-case lines elsewhere (``REGSVR32 /s …``) stand."""
    if not fragment.startswith(("\n", "\r")):
        return False
    words = fragment.lstrip("\r\n").split(None, 1)
    return bool(words) and words[0] in _INSTRUCTIONS and _DOCKERFILE.match(view) is not None


_COMMAND_WORD = re.compile(SHELL_COMMANDS + r"(?:\.exe)?", re.IGNORECASE)


def caret_word_is_command(fragment: str, view: str) -> bool:
    """Letters split by carets (``w^h^o^a^m^i``) are a command only when cmd, which drops the
    carets, reads a command word in them; ``a^b^c`` is algebra."""
    word = fragment.lstrip(";&| \t^").replace("^", "")
    return _COMMAND_WORD.fullmatch(word) is not None


_OPENED_ELEMENT = re.compile(r"<([a-z][\w:.-]*)>\s*$", re.IGNORECASE)
_ANY_OPENED_ELEMENT = re.compile(r"<([a-z][\w:.-]*)[\s/>]", re.IGNORECASE)
_HTML_ELEMENTS = frozenset({
    "a", "abbr", "address", "article", "aside", "b", "blockquote", "body", "br", "button",
    "caption", "code", "dd", "del", "details", "div", "dl", "dt", "em", "fieldset", "figure",
    "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "head", "header", "hr", "html", "i",
    "img", "input", "ins", "kbd", "label", "li", "link", "main", "mark", "nav", "ol", "option", "p",
    "pre", "q", "s", "section", "select", "small", "span", "strong", "sub", "summary", "sup",
    "table", "tbody", "td", "textarea", "tfoot", "th", "thead", "title", "tr", "u", "ul",
})


def opens_data_element(fragment: str, view: str) -> bool:
    """An element injection closes the element the value is written into and opens one of the
    document's own (``</name><role>admin</role>``). Opening an HTML element (``</p><p>``) is a
    page fragment; a script or handler in it is what the XSS rules read. The XPath branch stands."""
    opened = _OPENED_ELEMENT.search(fragment)
    if opened is None or opened.group(1).lower() not in _HTML_ELEMENTS:
        return True
    # An HTML element first may only lead to the document's own (</name><p></p><role>admin).
    return any(tag.lower() not in _HTML_ELEMENTS for tag in _ANY_OPENED_ELEMENT.findall(view))


def not_a_table(fragment: str, view: str) -> bool:
    """The hit stands unless the value is a table (:func:`reads_as_table`)."""
    return not reads_as_table(view)


def outside_prose_code_span(fragment: str, view: str) -> bool:
    """The hit stands unless it sits in a code span quoted by prose."""
    return not _in_prose_code_span(fragment, view)


def command_line_runs(fragment: str, view: str) -> bool:
    """``cmdi-command-line``: a command line stands unless prose quotes it in a code span or the
    value is delimited rows whose header happens to open with a command's name
    (:func:`reads_as_delimited_rows`: ``id;name;price`` then ``1;"Café";3,50``)."""
    return outside_prose_code_span(fragment, view) and not reads_as_delimited_rows(view)


_HEADER_FIELD = re.compile(r"\s*[\"']?[^\W\d][\w.-]{0,40}[\"']?\s*", re.UNICODE)
_COMMAND_CELL = re.compile(r"\s*[a-z][\w./-]*\s+\S")
"""An unquoted cell that reads as a command line: a lowercase word and more after a blank
(``npx evil-pkg``); a table's words are quoted or capitalised (``"Café crème"``, ``New York``)."""
_COMMAND_NAME = re.compile(SHELL_COMMANDS, re.IGNORECASE)


def reads_as_delimited_rows(view: str) -> bool:
    """Whether the value is a delimited table (CSV with ``;``, ``,``, tab or ``|``): a header of
    three or more single-word names, most of them no command's (``id;name;price;currency``, not
    ``id;whoami;uname``), and every following line with the same number of fields, quotes
    aside, none of them a command with arguments (:data:`_COMMAND_CELL`)."""
    lines = _LINE_BREAK.split(view.strip(), 50)
    if len(lines) < 2 or len(lines) > 50:
        return False
    header = lines[0]
    for delimiter in (";", ",", "\t", "|"):
        names = header.split(delimiter)
        if len(names) < 3 or not all(_HEADER_FIELD.fullmatch(name) for name in names):
            continue
        commands = sum(_COMMAND_NAME.fullmatch(name.strip(" \"'")) is not None for name in names)
        if 2 * commands >= len(names):
            return False
        rows = [_QUOTED_STRING.sub("s", line).split(delimiter) for line in lines[1:]]
        return all(
            len(row) == len(names) and not any(_COMMAND_CELL.match(cell) for cell in row)
            for row in rows
        )
    return False


_COMMAND_POSITION = (
    "\n", "\r", ";", "|", "&", "`", "(", ")", "{", "}", "'", '"', "<", ">", "^", "\\n",
    # git's ext:: transport runs the command after it.
    "ext::",
)
_SHELL_STRING = re.compile(r"(?:ba)?sh\s+-[ci]\b", re.IGNORECASE)
_PROGRAM_PATH_CHARACTERS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-"
)


def _quotes_an_argument(before: str) -> bool:
    """Whether ``before`` ends with a quote that opens the argument of a word which runs nothing
    (:data:`_ARGUMENT_QUOTE`, :data:`_RUNNER_WORD`, :data:`_RUNS_ITS_ARGUMENT`)."""
    if not before.endswith(("'", '"')) or _ARGUMENT_QUOTE.search(before) is None:
        return False
    word = before[-25:-1].rstrip(" \t")
    return _RUNNER_WORD.search(word) is None and _RUNS_ITS_ARGUMENT.search(word) is None


_RUNS_ITS_ARGUMENT = re.compile(
    r"(?:\b(?:command|builtin|busybox|if|while|until|coproc|taskset|ssh|flock|ionice|chrt|script"
    r"|parallel|unbuffer|else|elif|\d+)"
    # An assignment before a command, an expansion that may be empty, a negation.
    r"|\w+=\S*|\$\{?\w+\}?|!)$"
)
"""More words after which a quoted program still runs: shell keywords and builtins that run
the next word, wrappers, a count an option took, ``A=1``, ``$u`` (empty) and ``!``."""


_ARGUMENT_QUOTE = re.compile(r"[\w.,:)\]][ \t]+['\"]$")
_WORD_BEFORE_BRACKET = re.compile(r"[^\W\d_][\w.-]*[ \t]*\($")
_RUNNER_WORD = re.compile(
    r"(?:\b(?:sudo|exec|nohup|env|then|do|xargs|timeout|eval|sh|bash|zsh|dash|ksh|source|doas"
    r"|su|time|watch|nice|setsid|stdbuf|chroot|runuser|cmd|powershell|pwsh|start|call)"
    # An option, whose argument the program may run (ssh -e, rsync -e, -o ProxyCommand=…).
    r"|(?:^|\s)-{1,2}[a-zA-Z][\w-]*=?|\s\.)$"
)


_QUOTED_SETTING = re.compile(r"[\w\"'][\"']?\s*[:=]\s*[\"']$")


def shell_path_runs(fragment: str, view: str) -> bool:
    """A shell or tool named by its path (``/bin/bash``, ``/usr/bin/python3``) only runs where a
    command starts: at the start of the value, after a separator, a quote, a bracket, a
    redirection or a ``cmd`` caret, or after a word that runs its argument (``sudo``, ``exec``,
    ``-e``). In a sentence (``set SHELL to /bin/bash``, ``prints /usr/local/bin/python3``) it is
    a file name, and so is one that is a whole quoted value of a setting (``"shell": "/bin/bash"``,
    ``SHELL='/bin/zsh'``), and so is one that opens its own error message
    (``/bin/sh: 1: cc: not found``).
    ``sh -c`` and ``bash -c`` are read the same way, with the path before them. Fragments of the
    rule's other branches (``cmd /c``, ``/dev/tcp/``, ``nc -e``) stand.
    """
    if _SHELL_STRING.match(fragment):
        # sh -c and bash -c run their string unless they are, path included, inside a quoted
        # argument of a word that runs nothing (process "/bin/sh -c npm ci" did not complete).
        at = locate(view, fragment)
        start = at
        while start > 0 and view[start - 1] in _PROGRAM_PATH_CHARACTERS:
            start -= 1
        before = view[:start].rstrip(" \t")
        return at < 0 or not _quotes_an_argument(before)
    if not fragment.startswith("/") or fragment.startswith("/dev/"):
        return True
    at = locate(view, fragment)
    path = fragment.rstrip("'\"")
    closing = view[at + len(path) : at + len(path) + 1]
    if (
        at > 0 and closing in ("'", '"') and view[at - 1] == closing
        and _QUOTED_SETTING.search(view[max(0, at - 40) : at])
    ):
        return False
    if at >= 0 and _REPORTS_AS.match(view, at + len(path)):
        # The program names itself before its message (/bin/sh: 1: cc: not found).
        return False
    if at > 0 and closing in ("'", '"') and _GIVEN_A_SCRIPT.match(view, at + len(path) + 1):
        # A quoted shell handed -c and a string outside its quotes is the program a wrapper
        # runs (strace -o /dev/null "/bin/sh" -c "…"); wrappers are too many to list.
        return True
    return _at_command_position(fragment, view)


_GIVEN_A_SCRIPT = re.compile(r"[ \t]+-[ce][ \t]")


_REPORTS_AS = re.compile(r":[ \t]+(?:(?:line[ \t]+)?\d+:[ \t]+)?[\w.-]+(?::[ \t]|[ \t]+[a-z])")
"""A program's name as its error messages open: ``sh: 1: cc: not found``, ``bash: foo: command
not found``, ``/bin/sh: line 1: x: Permission denied``."""


def _at_command_position(fragment: str, view: str) -> bool:
    """Whether ``fragment`` stands where a shell command starts in ``view`` (see
    :func:`shell_path_runs`); True when it is not found there. A bracket opens a subshell only
    where a command starts; after a word (``the shell (/bin/sh) for the user``) the shell
    refuses it. A quote after a word and a blank opens that word's argument, unless the word
    runs it (:data:`_RUNNER_WORD`)."""
    at = locate(view, fragment)
    before = view[: max(at, 0)].rstrip(" \t")
    if before.endswith("(") and _WORD_BEFORE_BRACKET.search(before) is not None:
        return False
    if _quotes_an_argument(before):
        # A quote after a word and a blank opens that word's argument (process "/bin/sh -c
        # npm ci" did not complete), unless the word runs its argument (sh -c "…", eval "…").
        return False
    return (
        at < 0 or not before or before.endswith(_COMMAND_POSITION)
        or _RUNNER_WORD.search(before[-16:]) is not None
    )


_FETCH_COMMAND = re.compile(r"(?:wget|curl|fetch|lwp-download|tftp)\b", re.IGNORECASE)
_HOUSEKEEPING = re.compile(r"2>&1|>\s*/dev/null|chmod\b", re.IGNORECASE)
"""The rule's branches a runbook writes too: output thrown away, a script made executable."""
_STAGED_PROGRAM = re.compile(
    r"(?:^|[\s=;&|`(])/(?:tmp|dev/shm|var/tmp)/|chmod\s+(?:[ugoa]*\+[rwx]*s|[0-7]?[2-7][0-7]{3})\b",
    re.IGNORECASE,
)
"""A program run from a world-writable directory, or a set-id bit: what a dropper does."""
_CHAINED = re.compile(r"[;\n]|&&|\|\||\|(?!\|)|`|\$\(")
_WRITTEN_AS_COMMAND_LINE = re.compile(
    r"\s*(?:(?:[\d*/,-]+\s+){5})?(?:[\w.~-]*/[\w./-]*|" + SHELL_COMMANDS
    + r"(?:\.exe)?|npm|npx|yarn|pnpm|node|python3?|pip3?|go|cargo|make|git|docker|kubectl"
    + r"|systemctl|openssl|nohup|time)(?=[ \t]|$)",
    re.IGNORECASE,
)
"""A value that opens as a command line written out: a command word or a path to a program,
also behind a crontab schedule (``*/15 * * * * /usr/local/bin/sync``)."""


def fetch_runs(fragment: str, view: str) -> bool:
    """A download command (``curl -f http://…``) runs where a command starts, as
    :func:`shell_path_runs` reads it; after a label or in a sentence (``healthcheck: curl -f
    http://localhost/health``) it is a command quoted as text. Not in a prose code span either,
    nor an API call written out (:func:`calls_an_api`). The housekeeping branches (``2>&1``,
    ``> /dev/null``, ``chmod +x``) stand unless the whole value is a command line written out
    (:data:`_WRITTEN_AS_COMMAND_LINE`) with nothing chained before the match: ``nohup ./server
    > server.out 2>&1 &``, a crontab line, ``chmod +x deploy.sh``, as a runbook shows them; an
    injection reaches them behind a separator or a quote. A program under ``/tmp`` or
    ``/dev/shm`` or a set-id bit (:data:`_STAGED_PROGRAM`) always stands, as do the rest
    (``| sh``, a write to ``/tmp``)."""
    if _in_prose_code_span(fragment, view):
        return False
    if _FETCH_COMMAND.match(fragment):
        return _at_command_position(fragment, view) and not calls_an_api(view)
    if not _HOUSEKEEPING.match(fragment) or _STAGED_PROGRAM.search(view):
        return True
    at = locate(view, fragment)
    # Written out whole, and nothing chained before the match: a separator would start a
    # command of its own there (x/y ; /tmp/.x > /dev/null 2>&1).
    return not (_WRITTEN_AS_COMMAND_LINE.match(view) and at >= 0
                and _CHAINED.search(view, 0, at) is None)


_API_CALL_START = re.compile(r"\s*(?:\$\s+)?(?:curl|wget)[ \t]", re.IGNORECASE)
_SHAPES_REQUEST = re.compile(
    r"[ \t](?:-X[ \t]*[A-Z]+|-[HdFuGbw]|--(?:header|data(?:-[a-z]+)?|form|get|user|json|cookie"
    r"|request|write-out|method|post-data|body-data)\b)"
)
_REACHES_FILES = re.compile(
    # Written anywhere but a plain file name in the working directory, or as a server script
    # or a dotfile; the URL's own name kept (curl -O, --remote-name).
    r"[ \t](?:-[a-z]*[oO]|--output(?:-document)?|--output-dir|-P|--directory-prefix)[ \t=]*['\"]?"
    r"(?:[^\s'\"]*[/\\]|\.|[^\s'\"]*\.(?:php\d?|phtml|phar|aspx?|jspx?|cgi|pl|sh|py|shtml|cfm)\b)"
    r"|[ \t](?:-O(?=[ \t]+(?:-|['\"]?https?://)|$)|--remote-name(?:-all)?\b|-J\b"
    r"|--remote-header-name\b)"
    # Anything else written to a file: headers, cookies, traces, a log, a wget output format.
    r"|[ \t](?:-D|--dump-header|-c|--cookie-jar|--trace(?:-ascii)?|--libcurl|--stderr|-a"
    r"|--append-output|--output-file|--etag-save|--hsts|--alt-svc)[ \t=]*['\"]?"
    r"(?:[^\s'\"]*[/\\]|[.~])|%output\{"
    # A file sent from anywhere but a document beside it (-d @data.json, -F file=@./a.pdf), a
    # form field read from a file (-F 'f=<file'), a document named for a secret.
    r"|@(?!['\"]?(?:\./)?[\w-]+(?:\.[\w-]+)*\.(?:json|xml|csv|txt|pdf|png|jpe?g|gif|zip|ya?ml|md"
    r"|html?|docx?|xlsx?|ndjson)\b)['\"]?[\w./~-]|=<|@['\"]?[\w./-]*(?:cred|secret|key|token|passw"
    r"|account|\.env|id_)"
    # Options read from a file, an upload, a local socket (the Docker API), or a script fetched.
    r"|[ \t](?:-T|--upload-file|-K|--config|--post-file|--body-file|-i|--input-file"
    r"|--unix-socket|--abstract-unix-socket)\b"
    r"|https?://[^\s'\"]*\.(?:sh|php\d?|phtml|phar|py|pl|ps1|exe|elf|bin|jar|jspx?|aspx?|cgi"
    r"|cfm|shtml)(?:['\"\s?#]|$)"
    # A cloud's metadata service and link-local addresses, however the address is written.
    r"|169\.254\.|metadata\.google\.internal|//metadata/|100\.100\.100\.200|fd00:ec2|2852039166"
    r"|0xa9fea9fe|0251\.0376\.0251\.0376"
    # Substitutions, and a pipe into a shell or an interpreter, also through sudo or env.
    r"|[`$]\(|[;&|][ \t]*(?:(?:sudo|env|doas|nohup)(?:[ \t]+-\S+)*[ \t]+)*(?:(?:ba|z|k|da|fi)?sh"
    r"|python\d?(?:\.\d+)?|perl|ruby|node|php|lua|pwsh|powershell|iex)\b",
    re.IGNORECASE,
)


def calls_an_api(view: str) -> bool:
    """Whether the value is a ``curl`` or ``wget`` call written out to talk to an API, as API
    references show them: it opens with the command (a ``$`` prompt aside), shapes the request
    (a method, a header, data, a form, a user, a cookie), writes only a plain file name beside
    it, sends only a document beside it (``-d @data.json``), fetches no script, reads no option
    file, asks no cloud metadata service, substitutes nothing and pipes nothing to a shell
    (:data:`_REACHES_FILES`). An injection reaches a download behind a separator or a quote,
    and a probe fetches its URL bare (``curl http://attacker.example/x``)."""
    return (
        _API_CALL_START.match(view) is not None
        and _SHAPES_REQUEST.search(view) is not None
        and _REACHES_FILES.search(view) is None
    )


_UNPARSABLE_SUBSTITUTION = re.compile(
    r"`\s*(?!(?:time|if|while|until|case|for|select|function|coproc|then|do|else|elif|exec"
    r"|command|builtin|eval|nohup|sudo|doas|env|nice|timeout|xargs)\b)[\w./-]+"
    r"(?:[ \t]+[^\s`;&|()<>'\"$\\!]+)*[ \t]+\((?!\s*\))"
)
"""A substitution a shell cannot parse: a bracket opening after a command's plain words
(`` `id IN (1, 2, 3)` ``, SQL in a code span) is a syntax error, and nothing in it runs. Not
after a keyword or a word that runs the rest (bash's ``time (id)``, ``if (id)``), nor a
function's definition (``f () (id)``)."""


def _opens_a_fence(view: str, at: int) -> bool:
    """Whether the run of backticks ending at ``view[at]`` opens a Markdown fence: three or more
    at a line's start, with no backtick after them on the line (```` ```bash ````). Inline, a
    run is read as the shell reads it, in pairs (```` ```rm -rf ~``` ```` runs ``rm``)."""
    start = at
    while start > 0 and view[start - 1] == "`":
        start -= 1
    line = view.rfind("\n", 0, start) + 1
    fence = _FENCE_RUN.match(view, line)
    return fence is not None and fence.end() > at


def unix_backtick(fragment: str, view: str) -> bool:
    """A backtick before a command only runs it in a Unix shell, so the command must be spelt
    as Unix spells it: lowercase, as Unix file names are case sensitive (`` `True` `` and
    `` `Python` `` are Markdown code spans, not commands). Three backticks open a Markdown
    code block (`` ```python ``), which is not a substitution either. Fragments that do not
    start with a backtick (another separator, ``$(``) stand as matched.
    """
    if _in_prose_code_span(fragment, view):
        return False
    if not fragment.startswith("`"):
        return True
    match = _BACKTICK_COMMAND.match(fragment)
    if match is None or not match.group(1).islower() or _UNPARSABLE_SUBSTITUTION.match(fragment):
        return False
    at = locate(view, fragment)
    if at > 0 and view[at - 1] == "`" and _opens_a_fence(view, at):
        return False
    # After an odd number of backticks this one closes a code span (`` `Field()` set to `True` ``);
    # a fence's run of three (```bash) opens no span.
    before = max(at, 0)
    fenced = sum(len(run.group(1)) for run in _FENCE_RUN.finditer(view, 0, before))
    return (view.count("`", 0, before) - fenced) % 2 == 0


_OPEN_TAG = re.compile(r"<[a-z][\w:-]*\s[^<>]*$", re.IGNORECASE)


def attribute_breakout(fragment: str, view: str) -> bool:
    """A quote and ``>`` before a new tag only break out of an attribute the value did not open.

    When the tag whose attribute the quote closes starts in the same value
    (``<a href="https://…"><img …>``), the value is ordinary markup: it would be escaped or
    rendered as written, and any script in it is what the other XSS rules look for.
    """
    at = locate(view, fragment)
    return at < 0 or _OPEN_TAG.search(view, 0, at) is None


_DOCUMENT_BLOCK = re.compile(r"\{[^{}]*\}|\[[^\[\]]*\]")
_QUERY_OPERATOR = re.compile(r"\$\w+")


def operator_reaches_query(fragment: str, view: str) -> bool:
    """A query operator (``{"$gt": 30}``) only reaches a query when the value is parsed as a
    document or as form keys. It does not when it sits inside a balanced ``{…}``/``[…]`` that a
    sentence quotes (``In MongoDB I filter with {"age": {"$gt": 30}} and get nothing``): four or
    more words and no ``=`` or ``&`` outside the blocks. An operator outside any block
    (``', $where: '1 == 1'``) stands, and so does one on a credential in a document that opens
    the value (:data:`_CREDENTIAL_OPERATOR`).
    """
    operator = _QUERY_OPERATOR.search(fragment)
    if operator is None:
        return True
    if is_shell_read_query(view):
        return False
    if view.lstrip().startswith(("{", "[")) and _CREDENTIAL_OPERATOR.search(view):
        # A login document opening the value is what a parser reads; several (Go's
        # json.Decoder, Jackson, Python's raw_decode) stop where it closes and ignore the
        # words after it. A question that opens with a query ({"$or": …} - is this right?)
        # names no credential.
        return True
    outside = view
    for _ in range(8):
        inner = _DOCUMENT_BLOCK.sub(" ", outside)
        if inner == outside:
            break
        outside = inner
    return (
        operator.group() in outside or "=" in outside or "&" in outside
        or not _at_least(_SENTENCE_WORD, outside, 4)
    )


_CREDENTIAL_OPERATOR = re.compile(
    r"[\"']?(?:pass\w*|pw|pwd|pin|otp|token|secret|api_?key|credentials?|hash)[\"']?\s*:\s*\{\s*"
    r"[\"']?\$",
    re.IGNORECASE,
)
"""An operator where a login's credential goes: ``"password": {"$ne": "x"}`` matches every
user's."""
_SENTENCE_WORD = re.compile(r"(?<!\S)[(\"']?[A-Za-z]{2,}[)\"'.,:;?!]?(?!\S)")
"""A word as a sentence spaces it; a CSV row's fields (``"bob@example.com",member``) are none."""


_BRACKET = re.compile(r"[()]")


def _closing_bracket(view: str, opening: int) -> int:
    """The index just past the ``)`` that closes the ``(`` at ``opening``, or -1."""
    depth = 0
    for bracket in _BRACKET.finditer(view, max(opening, 0)):
        depth += 1 if bracket.group() == "(" else -1
        if depth == 0:
            return bracket.end()
    return -1


_QUERY_CALL = re.compile(r"db\s*\.", re.IGNORECASE)
_CODE_AROUND = re.compile(r"[;{}$=`]|&&|\|\||['\"]\s*[+,)]")


_SHELL_READ = re.compile(
    r"\s*db\s*\.\s*\w+\s*\.\s*(?:find|findone|aggregate|countdocuments|count|distinct)\s*\(",
    re.IGNORECASE,
)
_READ_MODIFIER = re.compile(
    r"\s*\.\s*(?:sort|limit|skip|project|projection|pretty|toarray|explain|count|hint|collation"
    r"|batchsize|maxtimems)\s*\(", re.IGNORECASE,
)
_SERVER_SCRIPT = re.compile(r"\$(?:where|function|accumulator)\b", re.IGNORECASE)


def is_shell_read_query(view: str) -> bool:
    """Whether the whole value is one read a database shell runs (``db.orders.find({ total:
    { $gt: 100 } }).sort({ createdAt: -1 }).limit(20)``, ``db.invoices.aggregate([…])``): a
    query someone wrote out, its operators its own. A read of everything (``db.users.find()``),
    writes (``deleteMany``, ``drop``) and server-side script (``$where``, ``$function``)
    stand."""
    call = _SHELL_READ.match(view)
    if call is None or _SERVER_SCRIPT.search(view):
        return False
    end = _closing_bracket(view, call.end() - 1)
    if ":" not in view[call.end() : end]:
        # No field named: db.users.find() reads everything, the shape of a probe.
        return False
    while end > 0:
        modifier = _READ_MODIFIER.match(view, end)
        if modifier is None:
            break
        end = _closing_bracket(view, modifier.end() - 1)
    return end > 0 and not view[end:].strip().strip(";").strip()


def query_call_runs(fragment: str, view: str) -> bool:
    """A database-shell call (``db.users.find(…)``) runs when it is injected into a query
    string; set in a sentence of four or more other words, with no code punctuation around it
    (``In MongoDB you'd write db.users.find({ age: { $gt: 18 } }) to get adults``), it is
    quoted. The rule's other branches (``$where``, ``this.…``, ``;return``) stand as matched."""
    at = locate(view, fragment)
    if at < 0 or _QUERY_CALL.match(fragment) is None:
        return True
    if is_shell_read_query(view):
        return False
    end = _closing_bracket(view, view.find("(", at))
    if end < 0:
        return True
    outside = view[:at] + " " + view[end:]
    return _CODE_AROUND.search(outside) is not None or not _at_least(_PROSE_WORD, outside, 4)


_SCRIPT_PUNCTUATION = re.compile(r"[()=;<>+'\"{}\[\]`\\]")


def sink_in_code(fragment: str, view: str) -> bool:
    """A DOM sink (``document.cookie``, ``window.location``) is reached from script: the value
    carries code punctuation around it (a call, an assignment, a quote, a tag), or is too short
    to be a sentence. Named in a sentence of five or more words with none of it
    (``document.cookie returns all cookies not marked HttpOnly.``), it is a subject of the text."""
    return _SCRIPT_PUNCTUATION.search(view) is not None or not _at_least(_PROSE_WORD, view, 5)


_SCRIPT_OPEN = re.compile(r"<\s*script\b([^<>]*)>", re.IGNORECASE)
# A handler, a namespaced attribute, or a source that is not a plain relative path (a scheme,
# ``//``, or a value that is not a path: ``src=x onerror=…``).
_SCRIPT_LOADS = re.compile(
    r"""\bon[a-z]+\s*=|:|\b(?:src|href|data)\s*=\s*(?!["']?/?[\w.-]+(?:/[\w.-]+)*["']?(?:\s|$))"""
    # A path on the site where its users' files are kept: an upload served back as a script.
    r"""|\b(?:src|href|data)\s*=\s*["']?/?(?:[\w.-]+/)*?(?:uploads?|user[\w-]*|attachments?"""
    r"""|avatars?|tmp|temp|downloads?|storage|files?)/""",
    re.IGNORECASE,
)
_SCRIPT_CLOSE = re.compile(r"<\s*/\s*script|script\s*>", re.IGNORECASE)
_SCRIPT_CODE = re.compile(r"[()=;{}\[\]<>`'\"/\\:+&|$]")


def script_tag_runs(fragment: str, view: str) -> bool:
    """A ``<script>`` element runs only the code it loads or holds. A lone opening tag that
    loads no foreign code (no handler or namespaced attribute; a ``src`` only of a path on the
    site itself, ``src="app.js"``, ``src="/static/main.js"``), followed by words with no code
    punctuation (``The `<script type="module">` tag defers by default.``), names the tag: its
    would-be body is a sentence. A data block (:func:`_holds_json_data`) runs nothing either.
    Fragments of the rule's other branches, and a value with a second script tag or a closing
    one, stand as matched.
    """
    tags = list(_SCRIPT_OPEN.finditer(view))
    if len(tags) == 1 and _holds_json_data(tags[0], view):
        return False
    if not fragment.lstrip("<").lstrip().lower().startswith("script") or len(tags) != 1:
        return True
    tag = tags[0]
    if _SCRIPT_CLOSE.search(view):
        return True
    if _SCRIPT_LOADS.search(tag.group(1)):
        return True
    body = view[tag.end() :].lstrip("`")
    return _SCRIPT_CODE.search(body) is not None or not _at_least(_PROSE_WORD, body, 2)


_DATA_BLOCK_TYPE = re.compile(
    # "ld json": the canonical view reads a "+" as a URL-encoded space.
    r"""\s*type\s*=\s*(["']?)application/(?:ld[+ ])?json\1\s*""", re.IGNORECASE
)


def is_json_data_block(view: str) -> bool:
    """Whether the value is one script data block holding JSON (see :func:`_holds_json_data`)."""
    tags = list(islice(_SCRIPT_OPEN.finditer(view), 2))
    return len(tags) == 1 and _holds_json_data(tags[0], view)


def _holds_json_data(tag: re.Match[str], view: str) -> bool:
    """Whether the one script element is a data block (``<script type="application/ld+json">``
    holding a JSON document, as pages carry structured data), which browsers never run: only a
    ``type`` attribute, a body that parses as JSON, one closing tag, and nothing around it."""
    if _DATA_BLOCK_TYPE.fullmatch(tag.group(1)) is None or view[: tag.start()].strip():
        return False
    close = re.search(r"</script\s*>", view[tag.end() :], re.IGNORECASE)
    if close is None or view[tag.end() + close.end() :].strip():
        return False
    body = view[tag.end() : tag.end() + close.start()]
    if "<" in body:
        return False
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


_MARKUP_TAG = re.compile(r"<\s*/?\s*([a-z][\w:-]{0,30})([^<>]{0,300})>", re.IGNORECASE)
_TAG_START = re.compile(r"<\s*[/!?]?\s*[a-z]", re.IGNORECASE)
# Outside the tags: other markup (comments, CDATA), code punctuation, entities or encodings.
_MARKUP_OUTSIDE_CODE = re.compile(r"[<>();={}\[\]`\\&+%]")
_ACTIVE_MARKUP = re.compile(
    # A browser drops tabs and line breaks from a URL: /<tab>/evil.example is //evil.example.
    r"/[\t\n\r]*/|\b(?:java|vb|live)script\s*:|\bdata\s*:|\bon[a-z]+\s*=|[(`\\&{}]|\bstyle\s*="
    r"|\bsrcdoc\b",
    re.IGNORECASE,
)


def quotes_inert_markup(view: str) -> bool:
    """The value is text that names HTML tags which carry nothing active (``Add <meta
    charset="utf-8"> first``, ``Is <script type="text/javascript"> still needed?``): every tag
    is a whole ``<name …>`` with no handler, no script-bearing or remote URL, no style, entity,
    call or escape; a ``<script>`` runs nothing (:func:`script_tag_runs`); and two or more
    words, with no other markup or code punctuation, stand outside the tags. Payload lists quote
    bare tags (``<body>``, ``<br><br>``) as probes, so a value of tags alone is left to the
    other evidence.
    """
    tags = list(_MARKUP_TAG.finditer(view))
    if not tags or len(tags) != len(_TAG_START.findall(view)):
        return False
    if any(_ACTIVE_MARKUP.search(tag.group()) for tag in tags):
        return False
    if any(tag.group(1).lower() == "script" for tag in tags) and script_tag_runs("<script", view):
        return False
    outside = _MARKUP_TAG.sub(" ", view)
    return _MARKUP_OUTSIDE_CODE.search(outside) is None and _at_least(_PROSE_WORD, outside, 2)


_SVG_SHAPES = frozenset({
    "svg", "g", "path", "circle", "rect", "line", "polyline", "polygon", "ellipse", "defs",
    "title", "desc", "lineargradient", "radialgradient", "stop", "clippath", "mask", "symbol",
    "text", "tspan",
})
_SVG_NAMESPACE = re.compile(r"xmlns(?::\w+)?\s*=\s*[\"']https?://www\.w3\.org/[^\"']*[\"']", re.I)
_SVG_FUNCTION = re.compile(
    r"\b(?:translate|rotate|scale|matrix|skewx|skewy|url|rgba?|hsla?)\(\s*#?[\w\s.,%-]*\)", re.I
)
_XML_DECLARATION = re.compile(r"<\?xml[^<>?]*\?>", re.IGNORECASE)


def draws_inert_svg(view: str) -> bool:
    """Whether the value is one SVG image made of shapes alone (an icon: ``<svg xmlns=…
    viewBox=…><path d=…/></svg>``): every element a shape, group, gradient or text, and no
    handler, link, style, script URL, entity or call in any attribute. ``<svg onload=…>``,
    ``<animate>``, ``<set>``, ``<foreignObject>``, ``<use href=…>`` and ``<script>`` are not
    shapes."""
    body = view.strip()
    declaration = _XML_DECLARATION.match(body)
    if declaration is not None:
        body = body[declaration.end() :].lstrip()
    if body[:4].lower() != "<svg" or body[-6:].lower() != "</svg>":
        return False
    for tag in _MARKUP_TAG.finditer(body):
        if tag.group(1).lower() not in _SVG_SHAPES:
            return False
        attributes = _SVG_FUNCTION.sub(" ", _SVG_NAMESPACE.sub(" ", tag.group(2)))
        if _ACTIVE_MARKUP.search(attributes) or re.search(r"href|xlink", attributes, re.I):
            return False
    tags = len(_MARKUP_TAG.findall(body))
    # Every < and > belongs to a tag: a > inside a quoted attribute hides the rest of its tag.
    return tags >= 3 and body.count("<") == body.count(">") == tags and "&" not in body


_HEAD_TAG = re.compile(r"<\s*(/?)\s*(meta)\b([^<>]{0,400})>", re.IGNORECASE)
_HEAD_TAG_START = re.compile(r"<\s*/?\s*meta\b", re.IGNORECASE)
_ACTIVE_META = re.compile(
    r"http-equiv(?!\s*=\s*[\"']?(?:x-ua-compatible|content-language|content-type)[\"'\s>])"
    r"|charset\s*=\s*[\"']?(?![\"']|utf-?8\b)",
    re.IGNORECASE,
)
"""A meta tag that redirects, sets cookies or a policy (``http-equiv`` but the compatibility
mode, the language or the type; a content security policy of ``script-src 'none'`` stops the
page's own scripts), or declares a charset other than UTF-8 (a UTF-7 declaration makes the rest
of the page a script)."""
_ACTIVE_TAG_NAMES = (
    "script|iframe|frame|object|embed|applet|svg|math|base|link|import|style|portal|animate|set"
    "|xss"
)
"""Elements that run, load or embed something, as the markup exemptions read them."""
_OTHER_ACTIVE_TAG = re.compile(
    r"<\s*/?\s*(?:" + _ACTIVE_TAG_NAMES + r"|form|xml|handler|listener|isindex|plaintext|xmp"
    r"|noembed|noframes|noscript|textarea|title|marquee|template)\b|\bon[a-z]+\s*="
    r"|(?:java|vb)script\s*:",
    re.IGNORECASE,
)
_ITEMPROP = re.compile(r"(?<![\w-])itemprop\s*=", re.IGNORECASE)
_META_NAME = re.compile(r"""(?<![\w-])(?:name|property)\s*=\s*["']?([\w:.-]*)""", re.IGNORECASE)
_PAGE_DATA_NAME = re.compile(
    r"viewport|description|keywords|author|theme-color|color-scheme|generator"
    r"|application-name|format-detection|(?:og|twitter|article|fb):[\w:.-]+",
    re.IGNORECASE,
)
"""Meta names that describe the page. Others act: ``referrer`` leaks URLs to other sites,
``robots`` can take the page out of search, and a site-verification token claims the domain."""


def declares_inert_head(view: str) -> bool:
    """Whether the value's active-looking tags are only ``<meta>`` tags that describe the page
    (``name=`` or ``property=`` of :data:`_PAGE_DATA_NAME`, or ``charset=utf-8``), with no
    ``http-equiv``, script, style, handler, frame or other active tag anywhere, and every meta
    tag read whole: a page head pasted as it is."""
    if _OTHER_ACTIVE_TAG.search(view) or _ACTIVE_META.search(view):
        return False
    tags = list(_HEAD_TAG.finditer(view))
    if not tags or len(tags) != len(_HEAD_TAG_START.findall(view)):
        return False
    for tag in tags:
        closing, _, attributes = tag.groups()
        if closing:
            continue
        names = _META_NAME.findall(attributes)
        if _ITEMPROP.search(attributes) and not names:
            # Microdata (<meta itemprop="prepTime" content="PT20M">): a value for the page's
            # structured data, whatever the property's name.
            continue
        if not names and not any(a in attributes.lower() for a in ("charset", "http-equiv")):
            return False
        if not all(_PAGE_DATA_NAME.fullmatch(name) for name in names):
            return False
    return True


def quotes_inert_markup_or_svg(view: str) -> bool:
    """The model's test for quoted markup: text naming inert tags (:func:`quotes_inert_markup`),
    an SVG image of shapes alone (:func:`draws_inert_svg`), a page head's inert meta tags
    (:func:`declares_inert_head`), a JSON data block (:func:`is_json_data_block`), or JSX
    handlers (:func:`handlers_are_jsx`)."""
    return (quotes_inert_markup(view) or draws_inert_svg(view) or declares_inert_head(view)
            or is_json_data_block(view) or handlers_are_jsx(view))


_LINK_FRAGMENT = re.compile(r"<\s*link[\s/]", re.IGNORECASE)
_TAG_PART = re.compile(r"\"[^\"]*\"|'[^']*'|[^\"'>]+")
_REL_ATTRIBUTE = re.compile(r"(?<![\w-])rel\s*=", re.IGNORECASE)


def _tag_text(view: str, at: int) -> str:
    """The tag that starts at ``at`` as a browser reads it: quoted values may hold ``>``."""
    end = at
    for part in _TAG_PART.finditer(view, at):
        if part.start() != end:
            break
        end = part.end()
    return view[at:end]


def markup_active(fragment: str, view: str) -> bool:
    """A tag hit stands unless the value is text naming inert HTML tags, an SVG image of
    shapes alone, inert meta tags or a JSON data block. A ``<link>`` loads something only with
    a ``rel`` (stylesheet, import, preload …): ``<Link href={…}>`` is a component, and
    ``<link>…</link>`` the element of a feed. A component's ``<template>`` holding inert markup
    (:func:`is_component_template`) runs nothing either, nor a tag with no attribute that loads
    nothing (:data:`_PLACEHOLDER_TAG`)."""
    at = locate(view, fragment)
    if (_LINK_FRAGMENT.match(fragment) and at >= 0
            and not _REL_ATTRIBUTE.search(_tag_text(view, at))):
        return False
    if _STYLE_FRAGMENT.match(fragment) and _styles_only_lay_out(view):
        return False
    if _TEMPLATE_ELEMENT.match(fragment) and is_component_template(view):
        return False
    if at >= 0 and _PLACEHOLDER_TAG.match(view, at):
        return False
    return not quotes_inert_markup_or_svg(view)


_PLACEHOLDER_TAG = re.compile(
    r"<\s*(?:[a-z]+-[\w-]+|object|embed|applet|base|meta|set|handler|listener|import|layer"
    r"|ilayer|bgsound)\s*>",
    re.IGNORECASE,
)
"""A tag with no attribute that loads nothing: a manual's placeholder (``--no-merged[=<object>]``,
``< <object-list>``, a hyphenated name being no HTML element's), an ``<object>`` or
``<embed>`` with no ``data`` or ``src``."""


_TEMPLATE_ELEMENT = re.compile(r"<\s*/?\s*template\b", re.IGNORECASE)
_WHOLE_TEMPLATE = re.compile(
    r"\s*<template(?:\s[^<>]*)?>(.*)</template>\s*", re.IGNORECASE | re.DOTALL
)


def is_component_template(view: str) -> bool:
    """Whether the value is one ``<template>`` element, as a Vue or Svelte component's markup is
    written, whose content runs, loads and embeds nothing (no active element, handler or
    ``javascript:`` URL), whose directives hold data or name a handler
    (:data:`_DIRECTIVE_VALUE`) and whose template tags are inert (:func:`quotes_inert_templates`).
    A browser never renders a template's content; a payload wraps active markup in one."""
    whole = _WHOLE_TEMPLATE.fullmatch(view)
    if whole is None or _RENDERED_TEMPLATE.search(view):
        return False
    content = _LOCAL_FORM.sub(" ", whole.group(1))
    if _OTHER_ACTIVE_TAG.search(content) or _TEMPLATE_ELEMENT.search(content):
        return False
    for directive in _DIRECTIVE.finditer(view):
        value = next((v for v in directive.groups() if v), "")
        if _DIRECTIVE_VALUE.fullmatch(value) is None or _BROWSER_GLOBAL.search(value):
            return False
    return "{{" not in content or quotes_inert_templates(content)


_RENDERED_TEMPLATE = re.compile(r"\bshadowroot(?:mode)?\s*=|\bformaction\s*=", re.IGNORECASE)
"""A declarative shadow root, which the browser renders, and a button that submits elsewhere."""
_LOCAL_FORM = re.compile(
    r"</?form\b(?![^<>]*\b(?:action|formaction|target)\s*=)[^<>]*>", re.IGNORECASE
)
"""A component's form with no action or target: the component's handler submits it."""
_DIRECTIVE = re.compile(
    r"(?<![\w-])(?:[@:#][\w.:-]*|(?:v|x|ng)-[\w.:-]+|on[a-z]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|(\S+))",
    re.IGNORECASE,
)
_BROWSER_GLOBAL = re.compile(
    r"(?<![\w$.])(?:location|document|window|top|parent|frames|self|globalThis|opener|eval"
    r"|Function|constructor|fetch|import|setTimeout|setInterval|alert|prompt|confirm|open"
    r"|navigator|localStorage|sessionStorage|XMLHttpRequest|postMessage|cookie)\b"
    # Reached through a property: an event's view is the window ($event.view.eval(…)).
    r"|\.(?:eval|Function|constructor|cookie|view|ownerDocument|defaultView|innerHTML|outerHTML"
    r"|insertAdjacentHTML|write|writeln|postMessage|setTimeout|setInterval)\b"
)
"""A browser global a directive's expression reaches in Vue 2 and Alpine, whose expressions
see the page's globals: ``:class="location.replace(name)"`` navigates."""
_DIRECTIVE_VALUE = re.compile(
    # A name, a call of a name with names, a loop over a collection, an object of names and
    # strings (:class="{ active: isActive, 'text-danger': hasError }").
    r"\s*(?:[\w$.]+(?:\s*\(\s*(?:[\w$.]+(?:\s*,\s*[\w$.]+)*)?\s*\))?"
    r"|\(?[\w$]+(?:\s*,\s*[\w$]+)*\)?\s+(?:in|of)\s+[\w$.]+"
    r"|\{(?:\s*(?:[\w$-]+|'[\w\s-]*'|\"[\w\s-]*\")\s*:\s*!?[\w$.]+\s*,?)*\s*\})\s*",
    re.IGNORECASE,
)
"""What a Vue, Alpine or Angular directive's value may hold in an inert component: data, a
handler's name or a call of one with data, a loop; not code (``x-init="import('//x')"``)."""


_STYLE_FRAGMENT = re.compile(r"<\s*/?\s*style\b", re.IGNORECASE)
_STYLE_ELEMENT = re.compile(
    r"<style(?:\s+(?:type|media)\s*=\s*\"[\w/ ,:()-]*\")*\s*>([^<]*)</style>", re.IGNORECASE
)
_CSS_REACHES = re.compile(
    r"url\s*\(|@import|expression\s*\(|behavior|binding|javascript:|\\[0-9a-f]|&#|/\*"
    r"|image-set\s*\(|@font-face|src\s*:|://"
    r"|(?:^|[\s,}])(?:body|html|\*)\s*\{[^}]*(?:display\s*:\s*none|visibility\s*:\s*hidden)"
    r"|position\s*:\s*fixed|z-index",
    re.IGNORECASE,
)
"""CSS that loads or runs something (a background URL that leaks an attribute's value, an
import, an IE expression or behaviour, a Mozilla binding), hides it behind an escape or a
comment, hides the whole page or lays something over it."""


def _styles_only_lay_out(view: str) -> bool:
    """Whether every ``<style>`` element in ``view`` holds CSS that only lays out (an e-mail's
    ``@media`` rules, widths and colours) and the rest is no other markup: nothing in it loads
    or runs."""
    elements = list(islice(_STYLE_ELEMENT.finditer(view), 9))
    if not elements or len(elements) > 8 or any(_CSS_REACHES.search(e.group(1)) for e in elements):
        return False
    rest = _STYLE_ELEMENT.sub(" ", view)
    return _ANY_TAG.search(rest) is None


_FRAME_TAG = re.compile(r"<\s*(?:iframe|frame)\b", re.IGNORECASE)
_FRAME_CLOSE = re.compile(r"<\s*/\s*(?:iframe|frame)\s*>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'<>`]+)))?""")
_EMBED_PAGE = re.compile(
    r"https://(?:"
    r"(?:www\.)?youtube(?:-nocookie)?\.com/embed/|player\.vimeo\.com/video/"
    r"|(?:www\.)?dailymotion\.com/embed/video/|player\.twitch\.tv/|embed\.ted\.com/talks/"
    r"|open\.spotify\.com/embed/|w\.soundcloud\.com/player/|bandcamp\.com/EmbeddedPlayer/"
    r"|(?:www\.)?loom\.com/embed/|fast\.wistia\.net/embed/|(?:www\.)?google\.com/maps/embed"
    r"|(?:www\.)?facebook\.com/plugins/(?:video|post|page)\.php|platform\.twitter\.com/embed/"
    r"|(?:www\.)?tiktok\.com/embed/|speakerdeck\.com/player/|giphy\.com/embed/"
    r")[\w./-]*(?:[?#][^\s\"'<>]*)?",
    re.IGNORECASE,
)
"""The player pages of video, audio, map and post providers, matched from the scheme through the
path (a query or fragment cannot make a page one): a frame of theirs shows their player,
cross-origin, where the site put it. Hosts that serve their users' own pages (code playgrounds,
forms, sites, documents) are not among them."""
_EMBED_WRAPPER = re.compile(r"</?\s*(?:i?frame|div|p|span|figure|figcaption|center|br)\b",
                            re.IGNORECASE)
_ANY_TAG = re.compile(r"<\s*/?\s*[a-z!?]", re.IGNORECASE)
_FRAME_RUNS = re.compile(r"\bon[a-z]+\s*=|\bsrcdoc\s*=|(?:java|vb)script\s*:|\bdata\s*:",
                         re.IGNORECASE)
_FRAME_REACHES = re.compile(
    r"camera|microphone|geolocation|payment|usb|serial|hid|display-capture|clipboard-read"
    r"|fixed|z-index|opacity",
    re.IGNORECASE,
)
"""Permissions an embed code does not ask for, and styles that lay a frame over the page (a
responsive embed's ``position:absolute`` stays inside the box its wrapper makes)."""


def _frame_is_embed(tag: str) -> bool:
    """Whether a frame tag's first ``src`` is a provider's player page and nothing in its other
    attributes asks for a device or lays it over the page."""
    source: str | None = None
    for attribute in _ATTRIBUTE.finditer(tag, tag.find("<") + 1):
        name = attribute.group(1).lower()
        value = next((v for v in attribute.groups()[1:] if v is not None), "")
        if name in ("iframe", "frame"):
            continue
        if name == "src" and source is None:
            source = value
        elif name in ("allow", "style") and _FRAME_REACHES.search(value):
            return False
    return source is not None and _EMBED_PAGE.fullmatch(source) is not None


def frame_loads_foreign(fragment: str, view: str) -> bool:
    """A frame is injected markup unless the value is nothing but embed codes a site's editor
    pastes: every frame's first ``src`` a provider's player page (:data:`_EMBED_PAGE`), no
    device permission or overlay style, no handler, ``srcdoc``, script or data URL, and no tag
    but frames and plain wrappers (a form or an image beside a frame is judged as markup, and
    the model's reading with it). A frame of any other page (a login form on the attacker's
    host) stands."""
    if _FRAME_RUNS.search(view):
        return True
    frames = list(_FRAME_TAG.finditer(view))
    if not frames:
        return _FRAME_CLOSE.match(fragment) is None or not quotes_inert_markup_or_svg(view)
    if len(_ANY_TAG.findall(view)) != len(_EMBED_WRAPPER.findall(view)):
        return True
    return not all(_frame_is_embed(_tag_text(view, frame.start())) for frame in frames)


_CLIMB = re.compile(r"(?:\.\./){1,3}(?=[\w@-])")
_REFERENCE = re.compile(
    r"(?:\bfrom\s+|\brequire\s*\(\s*|\b(?:src|href)\s*=\s*|[\"']extends[\"']\s*:\s*)[\"']$",
    re.IGNORECASE,
)
_LINK_TARGET = re.compile(r"(?<!!)\[[^\[\]\n]{0,200}\]\($")
"""A Markdown link's target opening (``[Setup](``); not an image's (``![chart](``), which a
renderer that embeds resources reads from the disk."""


def references_a_neighbour(view: str) -> bool:
    """Whether every ``..`` in the value climbs a few plain ``../`` steps (three at most) to a
    name, in a reference a document makes to a file beside it: a quoted one in source (an ES
    module's ``from "../../components/Button"``, ``require("../lib")``, a JSON ``"extends":
    "../../tsconfig.json"``, an HTML ``src="../img/logo.png"``), or a Markdown link's target of
    two steps at most (``[API](../../api/index.md)``). A path join reads the link's text and
    its first ``..`` as one segment, which the next ``..`` cancels, so two steps stay where the
    value lands; three climb out. The name ends at a quote, a bracket or a blank, not at ``=``
    (chained ``href="../../../href="…`` climbs add up). A traversal climbs further, encodes its
    dots or separators, or stands alone; ``include``, ``@import`` and other directives a server
    may resolve from user input are not references here; a sensitive target is read by the
    rules that name one. A path a sentence names, or a link definition's, is a word of its own
    to a sink that splits on blanks, so neither counts."""
    if "%" in view or "\\" in view or "../" not in view:
        return False
    climbs = list(_CLIMB.finditer(view))
    if not climbs or sum(c.group().count("..") for c in climbs) != view.count(".."):
        return False
    return all(_ENDS_A_REFERENCE.match(view, _token_end(view, c.end()))
               and (_REFERENCE.search(view[max(0, c.start() - 40) : c.start()])
                    or (c.group().count("..") <= 2
                        and _LINK_TARGET.search(view[max(0, c.start() - 210) : c.start()])))
               for c in climbs)


_ENDS_A_REFERENCE = re.compile(r"[\"')\s,;#?]|\Z")
"""What follows a referenced name: its closing quote or bracket, a blank, a list's comma, an
anchor or a query. Not ``=`` (``href="../../../href="../../../config/master.key`` chains
climbs a path join adds up)."""


def _token_end(view: str, at: int) -> int:
    """Where the path token running through ``at`` ends."""
    token = _PATH_TOKEN.match(view, at)
    return token.end() if token is not None else at


def climbs_out(fragment: str, view: str) -> bool:
    """A run of parent steps stands unless it references a neighbouring source file
    (:func:`references_a_neighbour`)."""
    return not references_a_neighbour(view)


_FILTER_BODY = re.compile(r"\s*[|&!(]|\s*[\w-]+\s*[~<>]?=")
_FILTER_LEADS = frozenset(" \t\r\n\"'`:")


def _filter_openings(view: str) -> list[int]:
    """Where a whole LDAP filter may open: a ``(`` at the start or after a blank, a quote or a
    colon, before an operator or an attribute test. (``str.find`` skips to each bracket; a
    regex with a look-behind would try every position.)"""
    found = []
    at = view.find("(")
    while at >= 0:
        if (at == 0 or view[at - 1] in _FILTER_LEADS) and _FILTER_BODY.match(view, at + 1):
            found.append(at)
        at = view.find("(", at + 1)
    return found


def _may_be_whole_filter(view: str) -> bool:
    """Whether the value's brackets balance and one may open a whole filter."""
    return view.count("(") == view.count(")") and bool(_filter_openings(view))


def _whole_filters(view: str) -> list[tuple[int, int]]:
    """The spans of balanced LDAP filters that open after a blank, a quote or a colon, as text
    writes a whole filter (``search with (&(objectClass=person)(mail=*@example.com))``)."""
    openings = _filter_openings(view)
    if not openings:
        return []
    closing: dict[int, int] = {}
    open_at: list[int] = []
    for bracket in _BRACKET.finditer(view):
        if bracket.group() == "(":
            open_at.append(bracket.start())
        elif open_at:
            closing[open_at.pop()] = bracket.end()
    return [(start, closing[start]) for start in openings if start in closing]


def closes_unopened_filter(fragment: str, view: str) -> bool:
    """Whether an LDAP hit's first ``)`` closes a bracket the value never opened before it:
    the breakout of a value written into a filter (``*)(objectClass=*)(cn=*``). A sentence that
    quotes a filter writes it whole, so each of its ``)`` closes a ``(`` written earlier."""
    at = locate(view, fragment)
    close = fragment.find(")")
    if at < 0 or close < 0:
        return False
    before = view[: at + close]
    return before.count("(") <= before.count(")")


def quotes_whole_filter(view: str) -> bool:
    """Whether the value is a sentence quoting whole LDAP filters (:func:`_whole_filters`):
    brackets balanced, every bracket and wildcard inside a quoted filter, and four or more words
    outside them (``The LDAP filter (&(objectClass=person)(cn=John*)) finds people named John``).
    """
    if "(" not in view or view.count("(") != view.count(")"):
        return False
    pieces, end = [], 0
    for start, stop in _whole_filters(view):
        if start >= end:
            pieces.append(view[end:start])
            end = stop
    if end == 0:
        return False
    outside = " ".join([*pieces, view[end:]])
    return not any(mark in outside for mark in "()*") and _at_least(_PROSE_WORD, outside, 4)


def filter_breaks_out(fragment: str, view: str) -> bool:
    """An LDAP hit stands unless it lies inside a whole, balanced filter set in a sentence of four
    or more other words (:func:`_whole_filters`). An injection closes the filter it lands in
    (``*)(uid=*))(|(uid=*``); a sentence that quotes a complete filter closes nothing."""
    if view.count("(") != view.count(")"):
        return True
    at = locate(view, fragment)
    spans = [span for span in _whole_filters(view) if span[0] <= at < span[1]]
    if at < 0 or not spans:
        return True
    start, end = spans[0]
    return not _at_least(_PROSE_WORD, view[:start] + " " + view[end:], 4)


_PARENT_STEP = re.compile(r"\.\.[/\\]")
_STEP_INSIDE_PATH = re.compile(r"[\w-][/\\]\.\.[/\\][\w-]")


def parent_step_escapes(fragment: str, view: str) -> bool:
    """A parent step climbs out unless the value's steps stay inside its path
    (:func:`steps_back_inside`); a traversal starts with ``../``, repeats it, or goes on to a
    sensitive target (which the other path rules read)."""
    return not steps_back_inside(view)


def steps_back_inside(view: str) -> bool:
    """Whether the value's parent steps never climb out of the path they are in: a single
    ``../`` between two segments of a relative path (``images/../avatar.png``,
    ``src/utils/../core/x.c``) climbs back into the path it came from, naming a file beside the
    one the value starts in; steps that reference a neighbouring source file
    (:func:`references_a_neighbour`) stay too. The model weighs the dots; only climbing out
    reaches another file."""
    return ".." in view and (
        references_a_neighbour(view)
        or (len(_PARENT_STEP.findall(view)) == 1 and _STEP_INSIDE_PATH.search(view) is not None)
    )


_SEPARATOR_BEFORE = re.compile(r"(?:[/\\]|%(?:25)*(?:2f|5c))$", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]{2,}")


def path_not_named_in_sentence(fragment: str, view: str) -> bool:
    """A well-known file is a target where a path starts: at the value's start, after a
    traversal, a separator run, a parameter or quote. One named in a sentence of three or more
    other words, after a word and a space (``dirmngr: take /etc/hosts into account``,
    ``Файл /etc/hosts не найден``) or after a word's colon or comma and a space (``the group
    files: /etc/passwd, /etc/group``), is mentioned, not requested.
    """
    at = locate(view, fragment)
    return at < 0 or not path_mentioned(view, at, at + len(fragment))


_READER_BEFORE = re.compile(
    r"(?:^|[\s;&|`(])(?:cat|tac|nl|more|less|head|tail|strings|od|xxd|hexdump|type|grep|egrep"
    r"|fgrep|awk|sed|vi|vim|nano|base64|source|curl|wget|cp|scp|tar|zip)\s+$",
    re.IGNORECASE,
)
"""A command that reads the file named after it: ``cat /etc/passwd`` is a target in any
sentence."""
_LIST_MARK = re.compile(r"[^\W\d_][:,]?\s+$")


_PATH_CHARACTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.~%/\\:-"
_PATH_TOKEN = re.compile(r"[\w.~%/\\:-]*", re.ASCII)
"""A run of :data:`_PATH_CHARACTERS`, which matches everywhere (maybe empty)."""
_REMOTE_HOST = re.compile(r"[\w.-]@[\w.-]+$")


def path_mentioned(view: str, start: int, end: int) -> bool:
    """Whether the path at ``view[start:end]`` is named by prose: a word, or a word's colon or
    comma, and a space come before it (a leading separator aside), and four or more words stand
    outside it. A path after ``=``, a quote, a bracket, a shell operator or at the start is a
    target; so is one in a short command, and one after a command that reads it (``cat
    /etc/passwd``) in any sentence. The path is read from where its
    token starts (``C:\\Windows\\System32\\drivers\\etc\\hosts`` from the ``C``)."""
    prefix = view[max(0, start - 300) : start]
    start -= len(prefix) - len(prefix.rstrip(_PATH_CHARACTERS))
    before = view[max(0, start - 60) : start]
    separator = _SEPARATOR_BEFORE.search(before)
    if separator is not None:
        before = before[: separator.start()]
    if not before.strip():
        return _sentence_follows(view, end)
    if _LIST_MARK.search(before) is None or _READER_BEFORE.search(before) is not None:
        return False
    return _at_least(_WORD, view[:start] + " " + view[end:], 4)


def _sentence_follows(view: str, end: int) -> bool:
    """Whether the path token reaching ``end`` (a path opening the value) is the subject of a
    sentence on one line: a space, a word, four words in all, and no shell syntax, option or
    further separator (``/var/log/nginx/error.log is empty but the site returns 502``). A
    file-read probe is the path alone, or the path and what a payload appends to it."""
    if "%00" in view or "\x00" in view:
        # A NUL cuts the name where a C library reads it: /etc/passwd%00 is what …
        return False
    rest = view[_token_end(view, end):]
    if (not rest.startswith(" ") or not rest[1:2].isalpha() or _SHELL_SYNTAX.search(rest)
            or any(c in rest for c in "/\\\n\t")):
        # A separator further on means the path goes on past a blank (C:\Program Files\...),
        # and a line break or a tab starts another field a reader may take alone.
        return False
    return _at_least(_WORD, rest, 4)


_SENSITIVE_ABSOLUTE_START = re.compile(r"[=:'\"(,;|&>]\s*|file://", re.IGNORECASE)


_LISTING_LINE = re.compile(r"(?:^|\n)l[rwxsStT-]{9}[@+.]?[ \t][^\n]*[ \t]-\Z")
"""The line of ``ls -l`` that lists a symbolic link, up to its arrow: the mode opens it."""
_LISTING_HEAD = re.compile(
    r"(?:[ \t]*(?:total[ \t]+\d+[kmg]?|\$?[ \t]*ls\b[^\n;&|`$]*"
    r"|[-dlcbps][rwxsStT-]{9}[@+.]?[ \t][^\n]*)?\r?\n)*",
    re.IGNORECASE,
)


def _in_a_listing(view: str, at: int) -> bool:
    """Whether the arrow before ``view[at]`` ends the line of a symbolic link in ``ls -l``
    output that the value opens with: only the listing's own lines (``total 8``, the command,
    other entries) come before it. After any other line the ``>`` is a redirection on a new
    command line, which truncates its target whatever the line's first word is."""
    listing = _LISTING_LINE.search(view, 0, at)
    if listing is None:
        return False
    start = listing.start() + (1 if view[listing.start()] == "\n" else 0)
    return _LISTING_HEAD.fullmatch(view, 0, start) is not None


def sensitive_path_targeted(fragment: str, view: str) -> bool:
    """``path-sensitive-absolute``: a Windows path must name a file
    (:func:`windows_path_names_file`); a path named in a sentence, after a word or a word's
    colon or comma (``operate on the group files: /etc/passwd, /etc/group``, ``the hosts file is
    at C:\\Windows\\System32\\drivers\\etc\\hosts``), is mentioned, not requested
    (:func:`path_mentioned`), as is one that text goes on after (:func:`path_goes_on`); and
    one after ``user@host:`` is on another machine (``rsync -a ./public/
    deploy@web01:/var/www/site/``), and one after an arrow is a symbolic link's target in a
    listing (``lrwxrwxrwx … default -> /etc/nginx/sites-available/default``)."""
    if not windows_path_names_file(fragment, view):
        return False
    at = locate(view, fragment)
    if at < 0:
        return True
    lead = _SENSITIVE_ABSOLUTE_START.match(fragment)
    if lead is not None and lead.group().startswith("file"):
        return True
    if lead is not None and lead.group().startswith(":") and _REMOTE_HOST.search(view[:at]):
        return False
    if (lead is not None and lead.group().startswith(">") and view[at - 1 : at] == "-"
            and _in_a_listing(view, at)):
        # An arrow, not a redirection: a link's target in a listing (default -> /etc/nginx/…).
        return False
    start = at + lead.end() if lead is not None else at
    end = at + len(fragment)
    # A Windows path may hold blanks (C:\Program Files\…), so only a Unix one ends at one.
    unix = "\\" not in fragment and ":" not in fragment[lead.end() if lead else 0:]
    return not (path_mentioned(view, start, end) or (unix and path_goes_on(view, end)))


_PATH_REST = re.compile(r"[^\s\"'&)\]},;|<>?#]*")
_FIELD_ENDS = re.compile(r"\s*(?:$|[\"'&)\]},;|<>?#])")
_NEXT_ARGUMENT = re.compile(r"\s+[/~.-]")


def path_goes_on(view: str, end: int) -> bool:
    """Whether more text follows the path whose match ends at ``end``: after the rest of its
    token, a blank and a word or a line of something else (``/etc/passwd file format
    explained``, ``/var/log/app/*.log {`` opening a logrotate block). A file parameter holds
    the path alone, or ends it with a field's delimiter (a quote, ``&``, a bracket, ``?``)."""
    rest = _PATH_REST.match(view, end)
    if rest is None or _FIELD_ENDS.match(view, rest.end()) is not None:
        return False
    # Another path or an option after the blank is a second argument, not text.
    return _NEXT_ARGUMENT.match(view, rest.end()) is None


_WINDOWS_PATH = re.compile(r"(?:[a-z]:[/\\]|system32[/\\])", re.IGNORECASE)
_FILE_NAME = re.compile(
    r"[^/\\\s]*\.[a-z]\w{0,7}$|(?:sam|system|security|software|default|hosts|networks"
    r"|services|protocol|lmhosts|access_log|error_log|passwd|shadow"
    # A secret's file needs no extension either (Jenkins' secrets\initialAdminPassword).
    r"|\w*(?:password|passwd|secret|credentials?|token|private[_-]?key)\w*)$",
    re.IGNORECASE,
)


_DOT_SEGMENTS = re.compile(r"(?:[/\\]\.+|[. ]+)+$")


def windows_path_names_file(fragment: str, view: str) -> bool:
    """A Windows path is a file-read target when it ends in a file: a name with an extension
    (``httpd.conf``, ``win.ini``) or a system file without one (``SAM``, ``hosts``). One that
    ends in a directory (``C:\\Program Files (x86)\\…\\VC\\Tools``,
    ``%SystemRoot%\\System32\\drivers``, or a trailing separator) names a place, as install
    notes and bug reports do.
    Fragments of the rule's Unix branches stand as matched.
    """
    start = _WINDOWS_PATH.search(fragment)
    at = locate(view, fragment)
    if start is None or at < 0:
        return True
    rest = view[at + start.start() :].split("\n", 1)[0]
    # Windows drops "." segments and trailing dots and blanks from a name (x.json\. opens
    # x.json), so they end nothing.
    rest = _DOT_SEGMENTS.sub("", rest.rstrip())
    if rest.endswith(("\\", "/")):
        # A trailing separator ends a directory, unless the name before it is a file's
        # (Java's File drops the separator: C:\\Users\\Administrator\\NTUSER.DAT\\).
        segments = [s for s in re.split(r"[/\\]", rest.rstrip()) if s.strip()]
        return bool(segments) and _FILE_NAME.search(segments[-1].strip()) is not None
    last = re.split(r"[/\\]", rest)[-1].split()
    return not last or _FILE_NAME.search(last[0].rstrip(".,;:)'\"")) is not None


def system_path_target(fragment: str, view: str) -> bool:
    """A bare absolute path into a system directory is a file-read target, except a Windows
    path that ends in a directory (see :func:`windows_path_names_file`) and a path into one of
    ``/usr/share``'s reference-data trees: manuals, documentation, dictionaries, locales, time
    zones, fonts, icons, terminal descriptions. Those hold read-only data every machine ships,
    which manuals list and file-read probes do not ask for. The rest of ``/usr/share`` stands:
    applications live there too (``/usr/share/tomcat``, ``/usr/share/jenkins``).
    """
    if not windows_path_names_file(fragment, view):
        return False
    return _REFERENCE_DATA.match(fragment) is None


_REFERENCE_DATA = re.compile(
    r"\s*(?:file:/*)?/+usr/+share/+(?:man|doc|info|dict|locale|i18n|zoneinfo|fonts|icons|pixmaps"
    r"|terminfo|groff|vim|common-licenses|mime|X11/(?:locale|fonts))/+[^/.][^/]*(?:/+[^/.][^/]*)*$",
    re.IGNORECASE,
)


_TEMPLATE_TAG = re.compile(r"\{%[-+]?\s*(\w*)([^%]*)%\}")
_LAYOUT_TAGS = frozenset({
    "block", "endblock", "extends", "include", "if", "elif", "else", "endif", "for", "endfor",
    "raw", "endraw", "load", "static", "url", "trans", "blocktrans", "endblocktrans",
    "autoescape", "endautoescape", "set", "with", "endwith", "comment", "endcomment",
    "spaceless", "endspaceless", "macro", "endmacro", "filter", "endfilter", "call", "endcall",
    # Liquid's (Shopify's among them), Django's and Twig's tags that lay out or format data.
    "section", "sections", "render", "layout", "capture", "endcapture", "assign", "unless",
    "endunless", "case", "when", "endcase", "cycle", "paginate", "endpaginate", "form",
    "endform", "schema", "endschema", "style", "endstyle", "stylesheet", "endstylesheet",
    "tablerow", "endtablerow", "increment", "decrement", "elsif", "elseif", "csrf_token", "now",
    "firstof", "empty", "ifchanged", "endifchanged", "regroup", "widthratio", "verbatim",
    "endverbatim", "localize", "endlocalize", "embed", "endembed", "apply", "endapply",
    "plural", "translate", "blocktranslate", "endblocktranslate", "endtrans", "pluralize",
})
_ACTIVE_BODY = re.compile(r"[(\[|*+`$]|__|\.\.|['\"]\s*[/\\~]|['\"][a-z]+:")


def template_statement_active(fragment: str, view: str) -> bool:
    """A ``{% … %}`` tag only reaches beyond the page when it is active: a tag that runs or
    dumps something (``debug``, ``import``, ``php``, an unknown custom tag), a call, subscript,
    filter or dunder inside a tag, or an include of an absolute, parent or schemed path. A page
    of layout tags (``{% block body %}{% endblock %}``, ``{% extends "base.html" %}``) is
    template source quoted as text, as documentation and questions about templates quote it.
    Fragments of the rule's other branches (``<%= %>``, ``#set(``, ``${…}``) stand as matched,
    and so does a ``{%`` whose tag does not close in the value, unless the value is text
    quoting inert tags (:func:`quotes_inert_templates`).
    """
    if quotes_inert_templates(view):
        return False
    if not fragment.startswith("{%"):
        return True
    tags = list(_TEMPLATE_TAG.finditer(view))
    if not tags or len(tags) != view.count("{%"):
        return True
    return any(
        tag.group(1).lower() not in _LAYOUT_TAGS or _ACTIVE_BODY.search(tag.group(2))
        or _names_code(tag.group(2), _LAYOUT_TAGS)
        for tag in tags
    )


def _names_code(body: str, keywords: frozenset[str] = frozenset()) -> bool:
    """Whether a tag's body names an object that reaches code or secrets outside its strings
    (``{% set x = config %}``, ``{% for k in config %}``); ``keywords`` are the statement's
    own words (``include … with …``), not objects."""
    unquoted = _QUOTED_STRING.sub(" ", body)
    return _DUNDER.search(unquoted) is not None or any(
        name.lower() in _CODE_NAMES and name.lower() not in keywords
        for name in _NAME.findall(unquoted)
    )


# Bodies are bounded and brace-free, so a search stays linear; a longer or nested tag is left in
# the text outside the tags, where it counts as other template syntax.
_ANY_TEMPLATE_TAG = re.compile(
    # Two levels of braces nest (an object literal: {{ $t('cart.total', { amount: total }) }},
    # one inside it: {{ include('card.twig', { url: path('show', { id: item.id }) }) }}).
    r"\{\{((?:[^{}]|\{(?:[^{}]|\{[^{}]{0,100}\}){0,100}\}){0,200})\}\}|\{%((?:[^{}%]|\{[^{}%]{0,100}\}){0,200})%\}"
    r"|<%([^%]{0,200})%>|[$#*@]\{([^{}]{0,200})\}"
    # FreeMarker's directives (<#list users as user>, </#if>) and Velocity's (#foreach( … )).
    r"|</?(#[a-z]\w*[^<>]{0,200})>|#(?:foreach|if|elseif|set)\s*\(([^()]{0,200})\)",
    re.IGNORECASE,
)
_OTHER_TEMPLATE_SYNTAX = re.compile(
    r"[$#*@~]\{|@\(|\{php\}|\{\$|#(?:set|foreach|if|include|parse|evaluate|define|macro)\s*\("
    r"|<#|\[\[\s*[$*#@]|__|\{\{|\}\}|\{%|%\}|<%|%>"
    # A Velocity reference calling a method in the text itself ($rt.getRuntime().exec(…)).
    r"|\$!?[a-z_]\w*(?:\.\w+)*\s*\(",
    re.IGNORECASE,
)
_HTML_TAG = re.compile(r"</?[a-z][^<>]*>", re.IGNORECASE)
_WIKI_TEMPLATE = re.compile(
    r"\s*([a-z][\w -]{0,40}?)\s*(?:\|\s*[\w -]{1,40}=[^|{}=]*)+", re.IGNORECASE
)
"""A MediaWiki template call, named parameters only (``{{cite web |url=… |title=…}}``): Jinja
filters take no ``=``."""
_PLACEHOLDER_BODY = re.compile(r"[\s=-]*(?:\.\.\.|\u2026|and|or|to)?[\s-]*", re.IGNORECASE)
"""The body of a tag that shows the delimiters themselves: ``{{ ... }}``, ``{% and %}``."""
_DELIMITER_SPAN = re.compile(r"(``?)\s*(?:\{\{|\}\}|\{%-?|-?%\}|\{#|#\}|<%=?|%>|[$#]\{)\s*\1")
"""A code span that holds one template delimiter, as documentation names them (``{%``)."""
# The tokens of a tag body that only names data: a (dotted) name, a number, a short string, a
# comparison or assignment, a comma, a filter with no arguments or literal ones (``|e``,
# ``|date('Y-m-d')``).
_STRING_TEXT = r"(?:[\w .,%!?\u2026-][\w .,/%:#!?\u2026-]*)?"
_INERT_STRING = r"(?:\"" + _STRING_TEXT + r"\"|'" + _STRING_TEXT + r"')"
_INERT_LITERAL = r"(?:\d+|" + _INERT_STRING + ")"
_INERT_ARGUMENTS = _INERT_LITERAL + r"\s*(?:,\s*" + _INERT_LITERAL + r"\s*)*"
_INERT_STRINGS = _INERT_STRING + r"(?:\s*[,:]\s*" + _INERT_STRING + ")*"
"""Liquid's and Angular's filter arguments (``| default: "there"``, ``| currency:'EUR':'symbol'``),
strings only: a number there can compute (Django's ``{{364|add:733}}`` is an arithmetic probe)."""
_COMPUTING_FILTER = (
    r"(?!(?:add|plus|minus|times|divided_by|modulo|mul|div|sub|at_least|at_most|round|ceil|floor"
    r"|abs|divisibleby|get_digit|center|ljust|rjust|wordwrap|indent|repeat|multiply"
    r"|groupby|selectattr|rejectattr|attr|sum|unique|min|max)\b)"
)
"""Filters that compute with their argument (a probe sees arithmetic run: ``{{364|add:733}}``),
pad to its size (``{{ "a"|center:999999999 }}`` builds a gigabyte), or walk the attribute path
it names (``|groupby("1.__init__…")``)."""
_FORMATTING_FILTER = re.compile(_COMPUTING_FILTER + r"[a-z]\w*$", re.IGNORECASE)
_INERT_TOKEN = re.compile(
    # A keyword argument's label (class: "btn", limit: 4) before a name can take its word,
    # and React's one underscored key ({{ __html: marked(text) }} is JSX, no engine's tag).
    # A label with no value after it is Ruby's shorthand ({ ENV: } is { ENV: ENV }).
    r"[a-z]\w*:(?=\s+[^\s,)}\]])|(?<![\w.])__html:(?=\s)|"
    # Laravel's string helpers that shorten or recase text (Str::limit($post->body, 150)),
    # called with data once their call is reduced.
    r"\bStr::(?:limit|words|title|headline|upper|lower|ucfirst|slug|plural|singular|squish)\b|"
    # Liquid's named numbers (limit:5, offset:10), not a filter's (|add:733).
    r"(?<!\|)(?<!\|\s)[a-z]\w*:\d{1,4}\b|"
    # An object or dict literal's braces and colons ({ name: user.name }, {'title': t}).
    r"\s+|[@.]?[a-z]\w*(?:\.\w+)*|[=!<>]=?|,|[{}]|(?<=['\"]):|(?<=['\"]\s):|" + _INERT_LITERAL
    # A condition's connectives and a Ruby predicate's question mark (@cart.empty?).
    + r"|&&|\|\||(?<=\w)\?(?![\w?])|\u2026"
    # Go's template variables and their declaration ({{ range $key, $value := .Values.env }}).
    # Not the dot alone: {{.}} prints the whole data object, a probe's first move.
    + r"|\$[a-z_]\w*(?:(?:\.|->)\w+)*|:="
    # A name's offset by a short number ({{ i + 1 }}, loop.index - 1); 7 + 7 is a probe.
    + r"|(?<=[a-z_\])] )[-+](?=\s+\d{1,4}\b)"
    # A ternary's and Twig's concatenation's operators between blanks (a ? 'x' : b ~ c).
    + r"|(?<=\s)[?:~](?=\s)"
    # A filter given a name (| minus: product.price): data, no constant a probe could choose.
    + r"|\|\s*[a-z]\w*\s*:\s*(?=[@$]?[a-z_])"
    # FreeMarker's built-ins (?string, ?has_content, ??), but not those that make or run
    # code (?new, ?api, ?eval, ?interpret).
    + r"|\?\?|\?(?!(?:new|api|eval|eval_json|interpret|exec)\b)[a-z_]\w*(?:\.\w+)*"
    # A short number as a formatting filter's argument (floatformat:2, truncate: 20).
    + r"|\|\s*" + _COMPUTING_FILTER + r"[a-z]\w*\s*:\s*\d{1,4}\b"
    + r"|\|\s*" + _COMPUTING_FILTER + r"[a-z]\w*(?:\s*\(\s*(?:" + _INERT_ARGUMENTS
    + r")?\)|\s*:\s*" + _INERT_STRINGS + r")"
    + r"|\|\s*[a-z]\w*",
    re.IGNORECASE,
)


def _tokens_cover(token: re.Pattern[str], body: str) -> bool:
    """Whether ``body`` is a run of ``token`` matches (one match per position, no backtracking)."""
    at = 0
    while at < len(body):
        match = token.match(body, at)
        if match is None:
            return False
        at = match.end()
    return True


_CODE_NAMES = frozenset({
    "config", "self", "request", "settings", "session", "app", "application", "env", "environ",
    "lipsum", "cycler", "joiner", "namespace", "url_for", "get_flashed_messages", "os", "sys",
    "subprocess", "popen", "system", "exec", "eval", "import", "getattr", "attr", "class",
    "mro", "subclasses", "globals", "builtins", "constructor", "prototype", "process",
    "require", "runtime", "getclass", "forname", "object", "dump", "include", "source", "file",
    "shell_exec", "passthru", "call_user_func", "lookup", "with", "map", "filter", "sort",
    "reduce", "apply", "call", "format", "password", "passwd", "secret", "secret_key", "signer",
    "storages", "credentials", "configuration", "rails", "file_excerpt", "readfile", "find",
    "pprint", "g", "kernel", "open3", "pty", "objectspace", "marshal", "send", "public_send",
    "instance_eval", "class_eval", "module_eval", "constantize", "spawn", "syscall", "fork",
    "popen3", "capture2", "capture3", "data_model", "environment", "ctx", "instance_variables",
    "instance_variable_get", "class_variables", "class_variable_get", "local_variables",
    "global_variables", "getenv", "highlight_file", "show_source", "file_get_contents",
    "constant", "phpinfo", "register_shutdown_function", "fopen",
})
_NAME = re.compile(r"[a-z_]\w*", re.IGNORECASE)
_STATEMENT_KEYWORDS = frozenset({
    "while", "until", "for", "foreach", "do", "if", "elif", "elsif", "unless", "switch", "case",
    "catch", "return", "new", "typeof", "delete", "void", "yield", "await", "async", "throw",
    "sizeof", "goto",
})
"""Keywords before a bracket: statements, not calls (a loop may never end)."""
_RUNNING_FUNCTIONS = _CODE_NAMES | _STATEMENT_KEYWORDS | frozenset({
    "query", "q", "open", "load", "require_relative", "binding", "template_from_string",
    "attribute", "evaluate", "execute", "compile", "locals", "vars", "proc_open", "pcntl_exec",
    "assert", "create_function", "file_put_contents", "unlink", "scandir", "glob", "opendir",
    "putenv", "ini_set", "dl", "array_map", "array_filter", "usort", "call_user_func_array",
    "preg_replace", "global", "globalthis", "settimeout", "setinterval", "function", "shell",
    "command", "invoke", "run", "spawn_sync", "exec_sync", "range", "repeat", "loop", "sleep",
    "usleep", "wait", "timeout", "dict", "method", "instance_method", "public_method",
    "define_method", "tap", "then", "yield_self", "exit", "abort", "at_exit", "trap", "sprintf",
    "vsprintf", "get_defined_vars", "get_defined_constants", "debug_backtrace", "error_log",
    "mail", "copy", "symlink", "rename", "chmod", "chown", "mkdir", "rmdir", "touch", "groupby",
    "selectattr", "rejectattr", "dictsort", "readgzfile", "gzfile", "gzopen", "file_excerpt",
    "parse_ini_file", "simplexml_load_file", "md5_file", "sha1_file", "php_strip_whitespace",
    "get_meta_tags", "fpassthru", "fgets", "fread", "stream_get_contents", "storage_path",
    "base_path", "app_path", "config_path", "database_path", "resource_path",
})
"""Functions a template's globals may reach that run, load, evaluate or reach methods by name
(Ansible's ``query``, Twig's ``template_from_string``, Ruby's ``method``, PHP's and Python's
own), build names or huge values (``dict``, ``sprintf``, ``range``), end or stall the process,
or walk attribute paths given as strings (Jinja's ``groupby``): a call of one is never read as
formatting data (see :func:`_calls_reduced`), though the same word as data (``{{ query }}``)
is a name."""


_ATTRIBUTE_FILTER = re.compile(
    # A data attribute: no leading or doubled underscore (attribute='__class__' is a dunder).
    r"\|\s*(?:(?:map|sort|sum|unique|min|max|selectattr|rejectattr|groupby)\s*\(\s*attribute\s*="
    r"|groupby\s*\()\s*(['\"])"
    # Not an attribute that holds a secret (groupby("password") prints every user's).
    r"(?![^'\"]*(?:passw|secret|token|key|digest|credential|private|salt|hash))"
    r"[a-z](?:[a-z0-9.]|_(?![_'\"])){0,39}\1\s*\)",
    re.IGNORECASE,
)
"""Jinja's filters of a data attribute (``items|map(attribute='price')``,
``items|sum(attribute='price')``, ``people|groupby('city')``), not one holding a secret; Twig's
``map`` takes a callable instead (``|map('system')``)."""
_NUMBER_FORMAT = re.compile(
    r"""((['"])(?:[^%'"\\]|%[-+ #0]?\d{0,3}(?:\.\d{1,2})?[sdif%])*\2\s*\|\s*)format\b""",
    re.IGNORECASE,
)
"""A printf format of numbers and strings handed to Jinja's ``format`` (``'%.2f'|format(total)``);
``%c`` builds characters a payload cannot write (``"%c%c"|format(95, 95)`` spells ``__``)."""


_BARE_SORT = re.compile(r"\|\s*sort\b(?!\s*\()", re.IGNORECASE)
"""A ``sort`` filter without arguments (``post.tags|sort``): Twig's callable is an argument."""


def _plain_jinja_filters(body: str) -> str:
    """``body`` with Jinja's attribute ``map``/``sort``, a bare ``sort`` and number ``format``
    read as the inert filter ``e``: the names these filters share with Twig's callable-taking
    ones stop counting as code only in these forms."""
    return _NUMBER_FORMAT.sub(
        r"\1e", _BARE_SORT.sub("|e", _ATTRIBUTE_FILTER.sub("|e", body))
    )


_MACRO_DEFINITION = re.compile(r"\{%-?\s*macro\s+([a-z_]\w*)\s*\(", re.IGNORECASE)


@lru_cache(maxsize=8)
def _defined_macros(view: str) -> frozenset[str]:
    """The macros the value defines (``{% macro field(name, label) %}``): calling one runs the
    template's own markup."""
    return frozenset(_MACRO_DEFINITION.findall(view)) - _RUNNING_FUNCTIONS


def _tag_is_inert(tag: re.Match[str]) -> bool:
    """A template tag that only names data: ``{{ user.name|e }}``, ``{{#each items}}``,
    ``<%= @user.name %>``, a layout statement (``{% for p in products %}``,
    ``{% include "partials/nav.html" %}``). No call (but a filter's literal arguments),
    subscript, operator, dunder, path string, or name of an object that reaches code
    (``config``, ``self``, ``request``, ``system``, ...)."""
    mustache, statement, script, expression, directive, velocity = tag.groups()
    if directive is not None:
        return _directive_is_inert(directive)
    if velocity is not None:
        return _velocity_is_inert(velocity)
    if _PLACEHOLDER_BODY.fullmatch(mustache or statement or script or expression or ""):
        return True
    if expression is not None:
        expression = _THYMELEAF_UTILITY.sub(r"thymeleaf_\1_\2", expression)
    if statement is not None:
        statement = _TWIG_APP_DATA.sub("app_", _plain_jinja_filters(statement))
    macros = _defined_macros(tag.string) if "macro" in tag.string else frozenset()
    if mustache is not None and tag.string[tag.start() - 1 : tag.start()] == "$":
        mustache = _actions_expression(mustache)
    if mustache is not None:
        mustache = _GO_NAMED_TEMPLATE.sub('t "s"', _plain_jinja_filters(mustache))
        mustache = _HELM_OBJECT.sub(".Values", mustache)
        mustache = _HANDLEBARS_SUBEXPRESSION.sub(r" \1 ", _GO_WITH.sub(r"\1if", mustache))
        wiki = _WIKI_TEMPLATE.fullmatch(mustache)
        if wiki is not None:
            return not _names_code_word(wiki.group(1))
        partial = _PARTIAL.fullmatch(mustache)
        if partial is not None:
            names = _NAME.findall(_QUOTED_STRING.sub(" ", partial.group(1)))
            return not any(n.startswith("_") or n.lower() in _CODE_NAMES for n in names)
    if statement is not None:
        body = statement.strip("-+=")
        # A macro's signature, when it is the tag's only call: default values that call
        # something run when the macro does.
        if not _reads_as_tokens(
            body, _MACRO.match(body) is not None and body.count("(") == 1, macros
        ):
            return False
        words = _NAME.findall(statement)
        if not words or words[0].lower() not in _LAYOUT_TAGS:
            return False
    else:
        if script is not None and _ERB_COMMENT.fullmatch(script):
            # An ERB comment (<%# app/views/shared/_flash.html.erb %>): one line of words and
            # paths. Mako reads <% as a Python block, whose next lines run, and ASP.NET's
            # <%# … %> evaluates a data-binding call.
            return True
        body = script.removeprefix("=") if script is not None else mustache or expression or ""
        body = body.lstrip("#/^>!").strip("-")
        if script is not None:
            control = _CONTROL_FLOW.fullmatch(body)
            if control is not None:
                body = next((group for group in control.groups() if group), "")
            if _runs_by_name(body):
                # Ruby calls without parentheses (<%= sleep 9999 %>, load "x" do |f|).
                return False
            body = _FORM_BUILDER.sub(r't "\1"', body)
        body = _TEMPLATE_INCLUDE.sub('t("s"', body)
        # A message's words name nothing (a dunder in it is kept, see _masked).
        body = _MESSAGE.sub(_masked, body)
        if not _reads_as_tokens(body, macros=macros):
            return False
    source = statement or body
    if _calls_without_parentheses(source):
        return False
    # A keyword argument's label (class: "btn") and gettext's _( and __( name no object; the
    # same word elsewhere in the tag still does (ENV: 0, default: ENV.to_h). A statement's
    # first word is its layout tag.
    names = _NAME.findall(_LABEL.sub(" ", source))[1 if statement is not None else 0:]
    # A leading underscore reaches internals in code, not in a string (a partial's file name,
    # 'emails/_footer.html'); a dunder does in a string too (groupby("__class__")).
    unquoted = set(_NAME.findall(_QUOTED_STRING.sub(" ", source)))
    return not any(
        (name.startswith("_") and (name in unquoted or name.startswith("__")))
        or name.lower() in _CODE_NAMES or _SECRET_FIELD.search(name)
        for name in names
    )


_FREEMARKER_FORMATTING = frozenset({
    "string", "c", "date", "time", "datetime", "number", "html", "xhtml", "xml", "url",
    "js_string", "json_string", "upper_case", "lower_case", "cap_first", "uncap_first",
    "capitalize", "trim", "join", "round", "floor", "ceiling", "abs", "left_pad", "right_pad",
    "truncate", "date_if_unknown", "iso_utc", "iso_local",
})
"""FreeMarker built-ins that format a value (``?string("0.00")``, ``?date("yyyy-MM-dd")``)."""
_FREEMARKER_INERT = frozenset({
    "list", "items", "sep", "if", "elseif", "else", "switch", "case", "on", "default", "break",
    "continue", "macro", "nested", "return", "function", "local", "assign", "global",
    "compress", "noescape", "escape", "autoesc", "noautoesc", "attempt", "recover", "t", "lt",
    "rt", "nt",
})
"""FreeMarker directives that loop, branch, define or name data: not ``include``, ``import``,
``setting`` or ``visit``, and a directive's expression is checked like any tag's."""


def _directive_is_inert(directive: str) -> bool:
    """A FreeMarker directive (``#list users as user``, ``#if user??``, ``#else``) whose name
    loops, branches or names data and whose expression only names data (see
    :func:`_expression_is_inert`)."""
    name, _, body = directive[1:].partition(" ")
    return name.lower() in _FREEMARKER_INERT and _expression_is_inert(body.rstrip("/"))


def _velocity_is_inert(body: str) -> bool:
    """A Velocity directive's condition or assignment that only names data: ``$item in
    $items``, ``$user``, ``$total = $price * $qty`` (no constant product to probe for)."""
    return _expression_is_inert(_BETWEEN_VARIABLES.sub(r"\1 ", body))


_BETWEEN_VARIABLES = re.compile(r"(\$[a-z_][\w.]*)\s*[*+/%-]\s*(?=\$[a-z_])", re.IGNORECASE)
"""An operator between two variables (``$price * $qty``): no constant result to probe for."""


def _expression_is_inert(body: str) -> bool:
    """A tag body that is a run of inert tokens (calls of view helpers and filters reduced)
    naming no object that reaches code."""
    if not _reads_as_tokens(body) or _calls_without_parentheses(body):
        return False
    return not any(
        name.startswith("__") or name.lower() in _CODE_NAMES
        for name in _NAME.findall(_LABEL.sub(" ", body))
    )


_ACTIONS_STRING = re.compile(r"'[^'\n]{0,200}'")
_ACTIONS_CONTEXT = re.compile(
    r"\b(?:github|env|vars|secrets|runner|matrix|steps|needs|inputs|job|jobs|strategy)"
    r"(?:\.[a-z][\w-]*|\.\*)+",
    re.IGNORECASE,
)
_ACTIONS_FUNCTION = re.compile(
    r"\b(?:contains|startsWith|endsWith|format|join|toJSON|fromJSON|hashFiles|success|always"
    r"|cancelled|failure)(?=\s*\()"
)
_ACTIONS_NOT = re.compile(r"!(?!=)")
_NOT_ACTIONS = re.compile(r"(?<!\|)\|(?!\|)|~|__|\{|%")


def _actions_expression(body: str) -> str:
    """A GitHub Actions expression (``${{ hashFiles('**/package-lock.json') }}``) as the tokens
    it holds: its strings and context properties (``runner.os``, ``github.ref``) are data and its
    functions only compare, format or hash (read as the text helper ``t``). A dunder, an
    operator other than a comparison, or any other name or call is left for the tag's checks.
    A body with a filter, a concatenation or a dunder is no Actions expression (Jinja's, with a
    ``$`` printed before it) and is read as it is."""
    if _NOT_ACTIONS.search(body):
        return body
    body = _ACTIONS_STRING.sub("'s'", body)
    body = _ACTIONS_CONTEXT.sub("context", body)
    return _ACTIONS_NOT.sub(" ", _ACTIONS_FUNCTION.sub("t", body))


_ERB_COMMENT = re.compile(r"#[^\n\r()\[\]{};=`$@]*")
_HELM_OBJECT = re.compile(r"\.(?:Values|Release|Chart)(?:\.[A-Za-z]\w*)+")
"""Helm's chart values and release data (``.Values.env``, ``.Release.Name``): data a chart
author names, whatever its last word (``env``) reads as elsewhere."""
_GO_WITH = re.compile(r"^(\s*-?\s*)with(?=\s+[.$][a-z_])", re.IGNORECASE)
"""Go's ``{{ with .User }}``: a condition on a data field, as ``if`` is (Handlebars' ``#with``
takes a string or a lookup, which stay code)."""
_TEMPLATE_INCLUDE = re.compile(
    r"(?<![\w.$])include\(\s*(['\"])(?![/\\~])(?![^'\"]*\.\.)[\w./-]{1,120}"
    r"\.(?:twig|html?|j2|jinja2?|njk)\1"
)
"""Twig's ``include()`` of a template file by a relative name (``include('partials/_card.html.twig',
{ title: item.name })``): the loader reads it from the template folders, like ``{% include %}``,
which is a layout tag; read as a helper given a label."""
_PARTIAL = re.compile(
    r"\s*>\s*[a-z_][\w./-]*((?:\s+[a-z_][\w.]*(?:=(?:[@a-z_][\w.]*|\d{1,4}|" + _INERT_STRING
    + r"))?){0,8})\s*",
    re.IGNORECASE,
)
"""A Handlebars or Mustache partial (``{{> header title="Settings" }}``, ``{{> settings-form }}``):
a registered template included by name, given a context and named values; the names are read
as any tag's are."""
_HANDLEBARS_SUBEXPRESSION = re.compile(
    r"\(\s*([a-z]\w*(?:\s+(?:[@a-z_][\w.]*|\d{1,4}|" + _INERT_STRING + r")){1,6})\s*\)",
    re.IGNORECASE,
)
"""A Handlebars helper called inside a tag (``{{#if (eq status "shipped")}}``): read without its
parentheses, its helper and arguments are the tag's own names and literals."""
_TWIG_APP_DATA = re.compile(r"\bapp\.(?=(?:user|locale|flashes|current_route)\b)")
"""Symfony's ``app.user``, ``app.locale``: the signed-in user and the page's locale, data; the
rest of ``app`` (``app.request``, ``app.session``) reaches the framework."""
_GO_NAMED_TEMPLATE = re.compile(
    r"\b(?:include|template|partial)\s+(\"[\w.-]+\")\s+(?:\.|\$)(?![\w.])"
)
"""Go's and Helm's call of a named template with the current data (``include "app.labels" .``,
``template "row" .``): a name, not a path (``include "/etc/passwd"`` stays a call)."""
_THYMELEAF_UTILITY = re.compile(
    r"#(temporals|numbers|strings|lists|dates|calendars|arrays|sets|maps|aggregates|messages"
    r"|uris|bools|ids)\.(\w+)",
)
"""Thymeleaf's expression utility objects, which format and test data (``#temporals.format``,
``#lists.isEmpty``); not ``#ctx``, ``#request``, ``#session``, ``#servletContext``, or
``#conversions`` and ``#objects``, which build or hand out objects."""


_QUOTED_STRING = re.compile(r"\"[^\"]*\"|'[^']*'")
_LABEL = re.compile(
    r"(?<![\w.$])(?:[a-z]\w*:(?=\s+[^\s,)}\]])|__html:(?=\s)|_{1,2}(?=\s*\())", re.IGNORECASE
)
_METHOD_WITHOUT_PARENTHESES = re.compile(
    r"(?<![\w.$@])(?:[a-z_]\w*(?:\.\w+)+|[A-Z]\w*(?:(?:::|\.)\w+)*)\s+"
    r"(?:['\"`@$]|:(?![\s:])|[a-z_]\w*\s*,|\d+\.[a-z_])"
)
"""A method of an object or a constant called without parentheses (``Open3.capture2 'id'``,
``Kernel.public_send 'spawn', …``): a call, which Ruby and CoffeeScript templates allow."""
_GO_METHOD_CALL = re.compile(r"(?<![\w$])\.[A-Z]\w*(?:\.[A-Z]\w*)*\s+[\"'`$.(\d]")
"""Go calling a data object's method with its arguments after it (``.Files.Get "x.yaml"``):
the struct's own methods are what a Go template injection reaches."""


_LEADING_NAME = re.compile(r"\s*([a-z_]\w*[!?]?)(?:\s|$)", re.IGNORECASE)


def _runs_by_name(body: str) -> bool:
    """Whether a script tag's body opens with a function that runs, loads or stalls
    (:data:`_RUNNING_FUNCTIONS`, not a statement keyword), called Ruby's way without
    parentheses: ``load "x.rb"``, ``sleep 9999``, ``exit!``."""
    name = _LEADING_NAME.match(body)
    if name is None:
        return False
    word = name.group(1).rstrip("!?").lower()
    return word in _RUNNING_FUNCTIONS and word not in _STATEMENT_KEYWORDS


def _calls_without_parentheses(source: str) -> bool:
    """Whether ``source`` calls a method without parentheses, Ruby's way
    (:data:`_METHOD_WITHOUT_PARENTHESES`, read outside strings) or Go's
    (:data:`_GO_METHOD_CALL`)."""
    return (_METHOD_WITHOUT_PARENTHESES.search(_QUOTED_STRING.sub(" ", source)) is not None
            or _GO_METHOD_CALL.search(source) is not None)


def _reads_as_tokens(
    body: str, signature: bool = False, macros: frozenset[str] = frozenset()
) -> bool:
    """Whether ``body``, its helper and filter calls reduced (:func:`_calls_reduced`), is a run
    of inert tokens with no parent step."""
    reduced = _calls_reduced(body, signature, macros)
    return reduced is not None and _tokens_cover(_INERT_TOKEN, reduced) and ".." not in body
_CALL = re.compile(
    r"(?<![\w.'\"\])$])(?<!->)((?:[@.]?[a-z]\w*|\$(?:tc?|te|d|n)|_{1,2})(?:\.\w+)*)\s*\(([^()]{0,160})\)",
    re.IGNORECASE,
)
"""A call of a (dotted) name; not a method of a literal or of a call's result, which only
proves the expression runs (``{{'a'.toUpperCase()}}``), nor PHP's method of an object
(``$user->save()``)."""
_MACRO = re.compile(r"\s*macro\s+\w+\s*\(")
_TEXT_HELPERS = (
    r"link_to|button_to|mail_to|image_tag|route|path|asset|trans|t|_{1,2}|\$(?:tc?|te|d|n)|old"
    r"|[a-z][a-z0-9_]*_(?:path|url)"
)
"""View helpers that take a message key or a label first (see :data:`_HELPER_WITH_TEXT`)."""
_VIEW_HELPER = re.compile(
    r"stylesheet_link_tag|javascript_include_tag|thymeleaf_\w+|url|secure_url|mix|trans_choice"
    r"|pluralize|truncate|time_ago_in_words|number_to_currency|number_with_delimiter"
    r"|number_to_percentage|image_path|asset_path|" + _TEXT_HELPERS
)
"""Functions a view calls to format data: Rails' link and route helpers (``edit_article_path``),
Laravel's ``route`` and ``asset``, and the translation helpers ``t``, ``trans`` and ``__``."""


_CONTROL_FLOW = re.compile(
    r"\s*(?:\}\s*)?(?:(?:if|unless|elsif|else\s+if)\b\s*\(?([^(){}]*?)\)?\s*(?:then\s*|\{\s*)?"
    r"|else\s*\{?\s*|end\s*|\}\s*(?:\)\s*;?\s*)?|(@?[a-z_]\w*(?:\.\w+)*)\.each(?:_with_index)?\s+do\s*"
    r"\|\s*\w+(?:\s*,\s*\w+)*\s*\|\s*"
    # EJS's loops: users.forEach(function(u){ … }); and for (const u of users) { … }.
    r"|([a-z_]\w*(?:\.\w+)*)\.foreach\s*\(\s*(?:function\s*\(\s*\w+(?:\s*,\s*\w+)*\s*\)"
    r"|\(?\s*\w+(?:\s*,\s*\w+)*\s*\)?\s*=>)\s*\{\s*"
    r"|for\s*\(\s*(?:const|let|var)\s+\w+\s+(?:of|in)\s+([a-z_]\w*(?:\.\w+)*)\s*\)\s*\{\s*"
    # A Rails block helper and its block (form_with model: @comment do |f|).
    r"|([a-z_]\w*(?:\s+[^|%(){}]{0,160}?)?)\s+do\s*\|\s*\w+\s*\|\s*)",
    re.IGNORECASE,
)
"""ERB's and EJS's control flow (``<% if @cart.empty? %>``, ``<% if (user) { %>``, ``<% } %>``,
``<% @orders.each do |order| %>``, ``<% users.forEach(function(u){ %>``, ``<% }); %>``,
``<%= form_with model: @post do |f| %>``, ``<% end %>``): the condition, the collection or the
helper's arguments are what is read, as any tag's body. Not ``while`` or ``until``:
``<% while (1) { %>`` never ends."""
_FORM_BUILDER = re.compile(
    r"^\s*(?:f|form|builder)\.(?:label|text_field|text_area|email_field|password_field|check_box"
    r"|radio_button|select|collection_select|hidden_field|number_field|date_field|file_field"
    r"|telephone_field|url_field|search_field|rich_text_area|submit|button)\s+:(\w+)"
)
"""A Rails form builder's field (``f.text_area :body, rows: 3``): the symbol names an attribute
of the form's model, read as a label would be (``t "body", rows: 3``)."""
_MESSAGE = re.compile(
    r"((?<![\w.$])(?:_{1,2}|\$?t|trans|gettext)\s*\(\s*)"
    r"(?:\"((?![/\\~])[^\"\\{}$`<>/]{0,200})\"|'((?![/\\~])[^'\\{}$`<>/]{0,200})')"
)
"""A translation call's message (``_("Questions? Reply or call %(phone)s.")``): no path, no
template or shell syntax in it. Strings handed to anything else keep their words."""


def _masked(message: re.Match[str]) -> str:
    """A translation call's message as the plain literal ``"s"``, for reading the tag's tokens
    and names; one with ``..`` or a dunder is left for the tokens to refuse."""
    content = message.group(2) if message.group(2) is not None else message.group(3)
    if ".." in content or "__" in content:
        return message.group()
    return message.group(1) + '"s"'


_ENDS_WITH_NAME = re.compile(r"[a-z_]\s*\Z", re.IGNORECASE)
_PRECISION = re.compile(r"\s*\d\s*")


_PLAIN_FUNCTION = re.compile(r"[a-z][a-z0-9_]*", re.IGNORECASE)
_FORMATTING_METHOD = re.compile(
    r"@?[a-z_]\w*(?:\.[a-z_]\w*)*\.(?:strftime|isoformat|toLocaleDateString|toLocaleTimeString"
    r"|toLocaleString|toFixed|toUpperCase|toLowerCase|upper|lower|title|capitalize|strip"
    r"|humanize|diffForHumans)"
)
"""A data object's method that formats it (``trial_end.strftime('%d %B %Y')``,
``row.price.toFixed(2)``): given a format or nothing, it prints the data."""
_NOT_DATA_ARGUMENT = re.compile(r"\d{5}|['\"`]|\d\s*\.\s*[a-z_]|^\s*$", re.IGNORECASE)


def _formats_data(name: str, arguments: str) -> bool:
    """Whether a call is a plain function of the template's own (no receiver, none that runs,
    loads, builds or reaches methods: :data:`_RUNNING_FUNCTIONS`) given data alone: names,
    short numbers and labels, no string (a string may name a command, a method or a file), no
    method of a literal (``96.chr``), not nothing (``truncate(post.body, length: 140)``,
    ``number_to_currency(order.total)``). What it is given is read as tokens by the caller."""
    return (
        _PLAIN_FUNCTION.fullmatch(name) is not None
        and name.lower() not in _RUNNING_FUNCTIONS
        and _NOT_DATA_ARGUMENT.search(arguments) is None
    )


def _calls_reduced(
    body: str, signature: bool = False, macros: frozenset[str] = frozenset()
) -> str | None:
    """``body`` with each call of plain arguments replaced by its callee, innermost first, three
    levels deep (``link_to 'Edit', edit_article_path(@article)``, ``route('admin.dashboard')``):
    a view helper (:data:`_VIEW_HELPER`, a plain function, no receiver) given names and literals
    formats data, and so does a macro's signature (``signature``), a call of a macro the value
    defines (``macros``) and a plain function given data (:func:`_formats_data`). None where an
    argument is anything else, or the callee is a method or a function that runs or loads:
    ``Open3.capture2('id')``, ``query('pipe', 'id')`` and ``constant('DB_PASSWORD')`` take
    literals too."""
    for _ in range(3):
        if "(" not in body and ")" not in body:
            return body
        plain = True

        def callee(call: re.Match[str]) -> str:
            nonlocal plain
            name, arguments = call.groups()
            # A filter (``|date('Y-m-d')``, ``|slice(0, 120)``) formats the value before it, and
            # so does a FreeMarker built-in written straight after its ``?`` (``?string('0.00')``);
            # not a call after ``||``, ``??`` or a ternary's ``?`` (``nil || open("|id")``).
            raw = call.string[: call.start()]
            before = raw.rstrip()
            is_filter = (
                (before.endswith("|") and not before.endswith("||")
                 and (_FORMATTING_FILTER.match(name) is not None
                      # Rounding a name to a precision (row.score|round(1)): the digits
                      # never reach the output, so a probe sees nothing it chose (x|add:733
                      # prints 733 for an unset x).
                      or (name.lower() == "round" and _PRECISION.fullmatch(arguments) is not None
                          and _ENDS_WITH_NAME.search(before[:-1]) is not None)))
                or (raw.endswith("?") and not raw.endswith("??")
                    and name.lower() in _FREEMARKER_FORMATTING)
            )
            helper = (signature or is_filter or _VIEW_HELPER.fullmatch(name) is not None
                      or name in macros or _formats_data(name, arguments)
                      or _FORMATTING_METHOD.fullmatch(name) is not None)
            # The result called in turn (sprintf("%sstem", "sy")("id")) runs what it built.
            called = call.string[call.end() :].lstrip().startswith("(")
            if not helper or called or not _tokens_cover(_INERT_TOKEN, arguments):
                plain = False
            # gettext's _ and __, vue-i18n's $t and $d: translation helpers, read as the name t.
            return "t" if name in ("_", "__") or name.startswith("$") else name

        body = _CALL.sub(callee, body)
        if not plain:
            return None
    return None if "(" in body or ")" in body else body


def quotes_inert_templates(view: str) -> bool:
    """The value is text that quotes template tags which only name data (``In Jinja,
    {{ user.name|e }} escapes the value``, ``Go templates use {{ .Title }}``): every ``{{ }}``,
    ``{% %}``, ``<% %>`` and ``${ }`` (``#{ }``, ``*{ }``, ``@{ }``) tag, FreeMarker directive
    (``<#list …>``) and Velocity directive (``#foreach( … )``) is inert (see
    :func:`_tag_is_inert`), there is no other template or expression syntax, and a word stands
    outside the template and HTML tags. A delimiter alone in a code span (``{%``), or a tag
    holding nothing but ``...`` or a conjunction (``{{ and }}``), names the syntax. Such a value
    documents a template; an injection needs a tag that reaches code. (Bare inert tags,
    ``{% block body %}``, are left to the model: payload lists quote them as probes.)
    """
    if "{{" in view and _is_wiki_markup(view):
        return True
    named = _DELIMITER_SPAN.sub(" ", view) if "`" in view else view
    tags = list(_ANY_TEMPLATE_TAG.finditer(named))
    if not (tags or named != view) or not _all_inert(tags):
        return False
    outside = _ANY_TEMPLATE_TAG.sub(" ", named)
    if _OTHER_TEMPLATE_SYNTAX.search(outside):
        return False
    if len(tags) >= 2 or _FRAMEWORK_BINDING.search(outside):
        return True
    if all(tag.group(1) is not None and _FILTER.search(tag.group(1))
           and not _PATH_OR_SECRET.search(tag.group(1)) for tag in tags):
        # Output that formats a value through a filter ({{ user.name | capitalize }}): an
        # inert tag and a filter name no payload needs. Not a path or a URL handed to the
        # filter (a filter can read a file), nor a name that holds a secret.
        return True
    if all(_HELPER_WITH_TEXT.search(tag.group()) and not _PATH_OR_SECRET.search(tag.group())
           and not _MODIFIER.search(tag.group()) for tag in tags):
        # A view helper handed a message key or a label (<%= t('.welcome', name: …) %>,
        # {{ $t('cart.total', { amount: total }) }}, <%= link_to 'Edit', edit_post_path(@post) %>):
        # an inert tag that translates or links, which no payload list needs.
        return True
    return _PROSE_WORD.search(_HTML_TAG.sub(" ", outside)) is not None


_WIKI_PLAIN = r"[^{}()\[\]|\"'`$<>;\\]{0,200}"
_WIKI_INNERMOST = re.compile(
    # A template parameter, with or without a default: {{{image}}}, {{{image|}}}.
    r"\{\{\{\s*[\w -]{1,40}(?:\|" + _WIKI_PLAIN + r")?\}\}\}"
    # A link, with or without a label: [[File:Portrait.jpg|250px]].
    r"|\[\[[^\[\]{}|<>]{1,200}(?:\|" + _WIKI_PLAIN + r")*\]\]"
    # A parser function (#if:, #switch:), or a template and its parameters:
    # {{cite web |url=… |title=…}}.
    r"|\{\{\s*(?:#[a-z]+:" + _WIKI_PLAIN + r"|([a-z][\w-]*(?: [\w-]+)*)\s*)((?:\|"
    + _WIKI_PLAIN + r")*)\}\}",
    re.IGNORECASE,
)
"""The innermost MediaWiki constructs, with plain text inside: no quote, call, subscript,
dollar, angle bracket or semicolon."""
_WIKI_NAMED = re.compile(r"\|\s*[\w -]{1,40}=")


def _names_code_word(name: str) -> bool:
    """Whether a wiki template's name holds a word that names code (:data:`_CODE_NAMES`): a
    name of words is a template's (``cite web``), but ``config if 1 else 0`` is Jinja's."""
    return any(word.lower() in _CODE_NAMES for word in _NAME.findall(name))


def _is_wiki_markup(view: str) -> bool:
    """Whether every template tag in ``view`` is MediaWiki markup (``{{Infobox person | name =
    Ada}}``, ``{{#if: {{{image|}}} | [[File:{{{image}}}|250px]] }}``), read from the innermost
    construct out, each holding plain text. A template counts when its name is words (``cite
    web``, ``birth date``) or it has a named parameter (``|title=…``): no template language
    writes either, and Jinja's filters take no ``=``. None may name code. Handlebars' block
    helpers (``{{#with "s" as |string|}}``) quote and call, so they are not wiki markup."""
    found = False
    for _ in range(8):
        code = False

        def plain(match: re.Match[str]) -> str:
            nonlocal code, found
            name, parameters = match.group(1), match.group(2)
            if name is not None and " " not in name and not _WIKI_NAMED.search(parameters):
                return match.group()
            code = code or (name is not None and _names_code_word(name))
            found = True
            return " "

        reduced = _WIKI_INNERMOST.sub(plain, view)
        if code:
            return False
        if reduced == view:
            break
        view = reduced
    return (found and "{{" not in view and "}}" not in view
            and not _OTHER_TEMPLATE_SYNTAX.search(view))


def _all_inert(tags: list[re.Match[str]]) -> bool:
    """Whether every tag is inert (:func:`_tag_is_inert`), reading Go's blocks in order: a
    ``with`` or ``range`` over a data path opens one (:data:`_GO_BLOCK_OPENER`), ``end`` closes
    it, and inside one the dot is the current item, so ``{{ . }}`` and ``{{ toYaml . }}`` print
    that item (:data:`_GO_DOT_USE`). Outside any block the dot is the whole data object."""
    depth = 0
    for tag in tags:
        body = tag.group(1)
        if (body is not None and _GO_BLOCK_OPENER.fullmatch(body)
                and not _SECRET_FIELD.search(body)
                and not any(name.lower() in _CODE_NAMES for name in _NAME.findall(body)[1:])):
            depth += 1
            continue
        if body is not None and depth and _GO_DOT_USE.fullmatch(body):
            continue
        if not _tag_is_inert(tag):
            return False
        if body is not None and depth and _GO_END.fullmatch(body):
            depth -= 1
    return True


_GO_BLOCK_OPENER = re.compile(
    r"-?\s*(?:with|range)\s+(?:\$\w+\s*(?:,\s*\$\w+\s*)?:=\s*)?(?:\.\w+)+\s*-?", re.IGNORECASE
)
"""Go's ``with`` or ``range`` over a data path (``{{- range $k, $v := .Values.env }}``)."""
_GO_DOT_USE = re.compile(
    r"-?\s*(?:(?:toYaml|toJson|toPrettyJson|quote|squote|html|js|urlquery|len|upper|lower|title"
    r"|trim|toString|print|println)\s+)?\.\s*(?:\|\s*(?:nindent|indent|quote|squote|trim|upper"
    r"|lower|title|html|js|urlquery)(?:\s+\d{1,4})?\s*)*-?"
)
"""The current item printed or formatted (``{{ . }}``, ``{{- toYaml . | nindent 12 }}``); not
handed to any other function (``{{ call . }}``)."""
_GO_END = re.compile(r"-?\s*end\s*-?", re.IGNORECASE)
_SECRET_FIELD = re.compile(
    r"secret|passw|(?:^|_)pass(?:$|_)|pass$|pwd|passphrase|token|credential|private|_key\b|api_?key",
    re.IGNORECASE,
)
"""A field a tag may not print however plain its path: one named for a secret
(``ansible_env.DB_PASSWORD``, ``vars.ansible_become_pass``). Narrower than
:data:`_SECRET_NAME`, as a loop's ``{{ key }}`` or ``{{ post.hash }}`` is data."""


_HELPER_WITH_TEXT = re.compile(
    r"(?<![\w.$])(?:" + _TEXT_HELPERS + r")(?:\s*\(\s*|\s+)['\"]", re.IGNORECASE
)
"""A translation or link helper whose first argument is a string: a message key, a label."""
_MODIFIER = re.compile(r"\b(?:if|unless|while|until|and|or|not|rescue|then|else)\b|;|&&|\|\|")
"""What makes a tag more than its helper call: a condition or a second statement."""


_FILTER = re.compile(r"(?<!\|)\|(?!\|)\s*[a-z]\w*", re.IGNORECASE)
_PATH_OR_SECRET = re.compile(
    # A separator opening a string or a word is a path (/etc/passwd, ~/.ssh); inside a word it
    # is a format (date('d/m/Y')) or a relative name.
    r"[a-z]:[/\\]|://|(?<![\w.-])[/\\~]|\.\.|passw|secret|token|_key\b|digest|credential|private|env"
    r"|database|dsn",
    re.IGNORECASE,
)


_FRAMEWORK_BINDING = re.compile(
    r"<[a-z][\w-]*\s(?:[^<>]*\s)?(?:v-[a-z][\w-]*|:[a-z][\w-]*|th:[a-z][\w-]*|\*ng[A-Z]\w*"
    r"|\[[\w.-]+\]|\([\w.-]+\)|#[a-z][\w-]*)\s*=\s*[\"']",
)
"""An HTML tag binding a client framework's attribute (``v-for="…"``, ``:key="…"``,
``*ngFor="…"``, ``[class.active]="…"``, ``(click)="…"``, ``#header="…"``): the markup is a
component template, whose ``{{ }}`` the browser's framework fills with data."""


_DUNDER = re.compile(r"__\w+__")


def template_reaches_code(fragment: str) -> bool:
    """Whether a template tag in ``fragment`` names an object that reaches code or secrets
    (:data:`_CODE_NAMES`: ``config``, ``session``, ``Kernel``, ``system``, ``password``…) or a
    dunder, outside its strings, calls a function that is no view helper or filter, or prints
    Go's whole data object with a print function (:data:`_WHOLE_CONTEXT`). A
    sentence around such a tag does not make it a quotation: it is the payload (``Dear
    #{ENV['SECRET']}, …``), whatever the words around it say."""
    for tag in islice(_ANY_TEMPLATE_TAG.finditer(fragment), 16):
        body = next(group for group in tag.groups() if group is not None)
        if (_names_code(body) or (_ANY_CALL.search(body) and not _tag_is_inert(tag))
                or (tag.group(1) is not None and _WHOLE_CONTEXT.fullmatch(tag.group(1)))):
            return True
    return False


_WHOLE_CONTEXT = re.compile(r"-?\s*print(?:f|ln)?\s+(?:\"[^\"\n{}]{0,20}\"\s+)?\.\s*-?")
"""Go printing the whole data object through a print function (``{{ printf "%+v" . }}``); the
dot alone, as documentation names it (``{{ . }}``), is left to the model in a sentence."""


_ANY_CALL = re.compile(r"\w\s*\(")


_GO_BLOCK = re.compile(r"\{\{-?\s*(?:with|range)\b")


def dot_outside_block(fragment: str, view: str) -> bool:
    """A Go template's ``{{.}}`` prints the whole data object unless a ``{{with}}`` or
    ``{{range}}`` opened before it, where the dot is the current item (``{{ with
    .Params.author }}By {{ . }}{{ end }}``)."""
    at = locate(view, fragment)
    return at < 0 or _GO_BLOCK.search(view, 0, at) is None


_DATA_REFERENCE = re.compile(r"\s*\{\{\s*([a-z]\w*(?:\.[a-z]\w*)+)\s*\}\}\s*", re.IGNORECASE)


def names_data(view: str) -> bool:
    """Whether the value is one template tag printing a data object's field
    (``{{ user.first_name }}``, ``{{ form.non_field_errors }}``): a dotted path of names, none
    leading with an underscore, naming an object that reaches code or secrets, or an array's
    mutator (``{{ settings.SECRET_KEY }}``, ``{{ request.environ }}``, ``{{this.pop}}`` stay for
    the model)."""
    reference = _DATA_REFERENCE.fullmatch(view)
    return reference is not None and not any(
        name.lower() in _CODE_NAMES or name in _ARRAY_MUTATORS or _SECRET_NAME.search(name)
        for name in reference.group(1).split(".")
    )


_SECRET_NAME = re.compile(_SECRET_FIELD.pattern + r"|key|api|hash|salt|session|cookie",
                          re.IGNORECASE)
"""A name the model alone may not pass as data: a secret's field (:data:`_SECRET_FIELD`), or
a key, a hash, a session or a cookie."""
_ARRAY_MUTATORS = frozenset({
    "pop", "push", "shift", "unshift", "splice", "fill", "reverse", "copyWithin", "valueOf",
    "toString",
})
"""Methods a Handlebars probe reaches through a dotted path (``{{this.pop}}``, a step of the
``lookup``/``push`` chain that builds a function)."""


def template_expression_active(fragment: str, view: str) -> bool:
    """A template hit stands unless the value is text quoting inert template tags."""
    return not quotes_inert_templates(view)


_JSX_VALUE = re.compile(r"[\t\n\f\r ]*(\{[^\t\n\f\r >]*)")
_JS_NAME = r"[A-Za-z_$][\w$]*"
_JSX_START = re.compile(r"\{" + _JS_NAME + r"(?:\." + _JS_NAME + r")*\}?|\{\((?:" + _JS_NAME
                        + r"(?:," + _JS_NAME + r")*)?\)?")
"""What a JSX handler's value leaves when HTML ends it at the first blank: a function's name
(``{handleChange}``), an arrow function's parameter (``{e``) or parameter list (``{()``,
``{(e)``). Anything else may run (``{alert?.(1)}``, ``{alert/**/(1)}``, ``{import(…)}``)."""
_ENTITY_REFERENCE = re.compile(
    r"\bon[a-z]{3,}\s*=\s*[^\s>]{0,200}?&(?:#\d|#x[0-9a-f]|[a-z][a-z0-9]*;)", re.IGNORECASE
)
"""An entity in a handler's unquoted value, which HTML decodes there ({1}&Tab;alert&lpar;1&rpar;
runs); one in the page's text (``Terms &amp; Conditions``) is outside every handler."""


_HANDLER = re.compile(r"\bon[a-z]{3,}\s*=", re.IGNORECASE)
_ACTIVE_OUTSIDE_HANDLERS = re.compile(
    r"<\s*/?\s*(?:" + _ACTIVE_TAG_NAMES + r"|meta)\b|(?:java|vb)script\s*:"
    r"|\b(?:srcdoc|(?:form)?action)\s*=",
    re.IGNORECASE,
)


def handlers_are_jsx(view: str) -> bool:
    """Whether the value holds event handlers and every one is a JSX expression that does not
    run in HTML (see :func:`handler_runs`), with no script, frame or other active markup: a
    React component pasted as code."""
    handlers = list(islice(_HANDLER.finditer(view), 33))
    if (not handlers or len(handlers) > 32 or _ACTIVE_OUTSIDE_HANDLERS.search(view)
            or _ENTITY_REFERENCE.search(view)):
        return False
    return all(_jsx_start(view, handler.end()) for handler in handlers)


def _jsx_start(view: str, at: int) -> bool:
    """Whether the attribute value at ``at`` is one of :data:`_JSX_START` up to HTML's first
    blank or ``>``."""
    value = _JSX_VALUE.match(view, at)
    # A trailing "/" closes an empty element (onBlur={validate}/>).
    return value is not None and _JSX_START.fullmatch(value.group(1).rstrip("/")) is not None


def handler_runs(fragment: str, view: str) -> bool:
    """An event-handler attribute runs its value, unless the value is a JSX expression
    (``onClick={() => setOpen(true)}``, ``onChange={handleChange}``): a browser reading it as
    HTML ends the unquoted value at the first blank, leaving ``{()`` or ``{handleChange}``,
    which is a syntax error or names a function without calling it (:data:`_JSX_START`).
    Anything else in the braces, or an entity in a handler's value (:data:`_ENTITY_REFERENCE`),
    may run."""
    at = locate(view, fragment)
    if at < 0 or _ENTITY_REFERENCE.search(view):
        return True
    return not _jsx_start(view, at + len(fragment))


_FIRST_BREAK = re.compile(r"\r|\n")
_HEADER_LINE = re.compile(r"[\r\n][\w-]{1,40}[ \t]*:[ \t]*\S")
_BODY_REACHES = re.compile(
    r"<\s*(?:img|a|button|input|form|image|video|audio|source|track|table|td|body|link|meta"
    r"|base)\b|\b(?:src|href|action|formaction|background|poster|data|srcset)\s*=",
    re.IGNORECASE,
)
"""Markup that loads, links or submits: an injected body with it can send the page's secrets
or the user's input elsewhere (dangling markup, a phishing link, a form's target)."""
_HTML_BLOCK = re.compile(r"<[a-z][\w-]*(?:\s[^<>]*)?>", re.IGNORECASE)
_LOCATION_SYNTAX = re.compile(r"[<>/=?&%]")


def body_splits_response(fragment: str, view: str) -> bool:
    """A blank line before markup splits a response when the value can be a header's value
    followed by a body of its own. It is a text box's content only when the part before the
    first break is a paragraph (four words or more), a Markdown heading or an HTML element,
    no header line follows, the break is a real one, and the markup after it neither runs,
    loads, links nor submits (:data:`_OTHER_ACTIVE_TAG`, :data:`_BODY_REACHES`): ``<p>Hi</p>``
    then ``<p>Bye</p>``, or ``## Install`` then ``<details>``."""
    if "\\r" in fragment or "\\n" in fragment or fragment.rstrip().lower().endswith("http/"):
        return True
    if _OTHER_ACTIVE_TAG.search(view) or _BODY_REACHES.search(view) or _HEADER_LINE.search(view):
        return True
    first = _FIRST_BREAK.search(view)
    head = (view[: first.start()] if first else view).strip()
    # Words, not a location: a URL or a query string is what a redirect's header carries.
    paragraph = len(_WORD.findall(head)) >= 4 and not _LOCATION_SYNTAX.search(head)
    return not (paragraph or head.startswith("#") or _HTML_BLOCK.match(head))


_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_REQUEST_LINE = re.compile(
    r"[A-Z]{3,12} \S{1,2000} (?:HTTP|SIP|RTSP)/\d(?:\.\d)?"
    # API references write HTTP/2's request line without a version: PATCH /api/v3/projects/42.
    r"|(?:GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) /\S{0,2000}"
)
_STATUS_LINE = re.compile(r"(?:HTTP|SIP|RTSP)/\d(?:\.\d)? \d{3}(?: [^\r\n]*)?")
_FIELD = re.compile(r"(:?[a-z][\w-]{0,60})[ \t]*:(?!//)[ \t]*([^\r\n]*)", re.IGNORECASE)
_BOUNDARY_LINE = re.compile(r"--([\w'()+,./:=?-]{1,70}?)(?:--)?")
_DECLARED_BOUNDARY = re.compile(r"boundary=\"?([\w'()+,./:=?-]{1,70})", re.IGNORECASE)
_HARMFUL_FIELDS = frozenset({
    "set-cookie", "set-cookie2", "location", "refresh", "content-length", "transfer-encoding",
    "content-disposition", "content-security-policy", "content-security-policy-report-only",
    "x-xss-protection", "strict-transport-security", "www-authenticate", "proxy-authenticate",
    "link", "access-control-allow-origin", "access-control-allow-credentials",
    "access-control-allow-headers", "access-control-allow-methods",
    "access-control-expose-headers", "forwarded", "x-real-ip", "x-client-ip", "true-client-ip",
    "x-original-url", "x-rewrite-url", "x-http-method-override", "x-http-method",
    "x-method-override", "x-host", "cookie", "authorization", "proxy-authorization",
    "x-originating-ip", "x-remote-addr", "x-remote-ip", "x-cluster-client-ip", "remote-user",
    "x-remote-user", "x-user", "x-user-id", "x-authenticated-user", "x-middleware-subrequest",
    "x-sendfile", "x-lighttpd-send-file",
    # A mail head's own fields: more recipients, another sender, another subject.
    "bcc", "cc", "to", "from", "reply-to", "sender", "subject", "return-path",
    # Where a browser sends its reports, another host for the origin, what it leaks or allows.
    "report-to", "nel", "reporting-endpoints", "alt-svc", "permissions-policy",
    "feature-policy", "content-encoding", "content-range", "trailer", "expect",
})
"""Header fields an injection gains by: a cookie, a redirect, the framing of the response
(length, chunking), a download's name, the browser's protections, cross-origin access, the
client address, identity, credentials or method a proxy or an application trusts, a file the
server sends for the application, and a mail's recipients and sender."""
_HARMFUL_FIELD_PREFIXES = ("x-forwarded-", "x-original-", "x-auth-request-", "x-accel-",
                           "x-litespeed-", "resent-", "cross-origin-")
_IDENTITY_FIELD = re.compile(
    r"user|auth|e-?mail|login|identity|principal|role|group|tenant|admin|account|session|token"
    r"|jwt|csrf|xsrf|signature|impersonat|sudo|secret|key|cert|(?:^|-)ip(?:$|-)|addr",
    re.IGNORECASE,
)
_PLAIN_FIELDS = frozenset({"user-agent", ":authority", "sec-websocket-key",
                           "sec-websocket-accept", "sec-websocket-version"})
"""Fields whose names hold such a word but carry no identity: the client's software, a
request's authority, a WebSocket handshake's nonce."""
"""Words in a field's name that say it carries who the client is or what it may do: the
identity an authenticating proxy passes on (``X-WEBAUTH-USER``, ``X-Forwarded-Email``), a
role, a session or a token. An application behind such a proxy believes them."""
_REQUEST_FIELDS = frozenset({"host"})
"""Fields a request carries: harmless only under the request line of a pasted request."""
_PLAIN_TYPE = re.compile(
    r"\s*(?:application/(?:json|[\w.-]+\+json|x-www-form-urlencoded|octet-stream|pdf|zip"
    r"|x-ndjson)|text/(?:plain|csv)|image/(?:png|jpeg|gif|webp)|multipart/[a-z-]+)\s*(?:;|$)",
    re.IGNORECASE,
)
"""Content types no browser runs or sniffs into one that does."""
_SHARED_CACHE = re.compile(r"public|s-maxage|max-age\s*=\s*[1-9]", re.IGNORECASE)
_CONNECTION_TOKENS = re.compile(r"\s*(?:keep-alive|close|upgrade)(?:\s*,\s*(?:keep-alive|close"
                                r"|upgrade))*\s*", re.IGNORECASE)
_UPGRADE_SMUGGLES = re.compile(r"h2c", re.IGNORECASE)
_WRITTEN_BREAK = re.compile(r"%(?:25)*0[ad]|%u000[ad]|\\[rn]|[\u010a\u010d\u560a\u560d]",
                            re.IGNORECASE)
"""A line break written any other way than as itself: percent-encoded, escaped, or a character
whose low byte a header writer truncates to one (``嘊``, ``Ċ``). A message pasted whole breaks
its lines with the characters themselves."""
_MAX_MESSAGE_LINES = 200


def _field_gains(name: str, value: str, request: bool) -> bool:
    """Whether setting header field ``name`` to ``value`` gains an injection something."""
    return (name in _HARMFUL_FIELDS or name.startswith(_HARMFUL_FIELD_PREFIXES)
            or (_IDENTITY_FIELD.search(name) is not None and name not in _PLAIN_FIELDS)
            or (name == "x-frame-options" and value.strip().lower() not in ("deny", "sameorigin"))
            or (name == "referrer-policy" and "unsafe-url" in value.lower())
            or (name in _REQUEST_FIELDS and not request)
            or (name == "content-type" and _PLAIN_TYPE.match(value) is None)
            or (name == "cache-control" and _SHARED_CACHE.search(value) is not None)
            or (name == "connection" and _CONNECTION_TOKENS.fullmatch(value) is None)
            or (name == "upgrade" and _UPGRADE_SMUGGLES.search(value) is not None))


def header_injected(fragment: str, view: str) -> bool:
    """A header after a line break is injected unless the value is a message pasted whole
    whose headers gain an attacker nothing. Such a value opens with the message itself, as a
    request or status line or a header field, never with the text of a parameter (``en``,
    ``/``, a URL) or an empty line before a break; each line of its head is a field (or folds
    the one before); no second request or status line follows; a value opening with a field
    ends its head with no blank line (after one, the rest would be a body it injects); and no
    field is one an injection gains by (:func:`_field_gains`: :data:`_HARMFUL_FIELDS`, a
    content type other than plain data, a shared cache's lifetime, a ``Connection`` naming
    fields, an ``Upgrade`` to h2c, ``Host`` outside a pasted request). A multipart body's parts
    may carry their own ``Content-Disposition`` under a boundary the head declared. Its line
    breaks are the characters themselves, not written another way (:data:`_WRITTEN_BREAK`).
    Built that way, the same value reflected into a response or a request sets nothing that
    matters, so the pasted request, response or header list of a support thread is let
    through. So is an iCalendar or vCard object (:func:`_is_calendar_object`)."""
    if _WRITTEN_BREAK.search(view):
        return True
    lines = _LINE_BREAK.split(view, _MAX_MESSAGE_LINES)
    if len(lines) > _MAX_MESSAGE_LINES:
        return True
    if _CALENDAR_BEGIN.match(view):
        return not _is_calendar_object(lines)
    first = lines[0].rstrip()
    request = _REQUEST_LINE.fullmatch(first) is not None
    opening = request or _STATUS_LINE.fullmatch(first) is not None
    if not opening and _FIELD.fullmatch(first) is None:
        return True
    declared: set[str] = set()
    in_head, in_part = True, False
    for index, raw in enumerate(lines):
        line = raw.rstrip()
        if index and (_REQUEST_LINE.fullmatch(line) or _STATUS_LINE.fullmatch(line)):
            return True
        boundary = _BOUNDARY_LINE.fullmatch(line)
        if boundary is not None and boundary.group(1) in declared:
            in_head = in_part = True
            continue
        if not line:
            # A blank line (not the last line's own break) ends a head the value opened with
            # a field: what follows, even nothing, would be the body it injects.
            if in_head and not opening and not in_part and index < len(lines) - 1:
                return True
            in_head = False
            continue
        if not in_head or (index == 0 and opening) or raw[:1] in (" ", "\t"):
            continue
        field = _FIELD.fullmatch(line)
        if field is None:
            return True
        name, value = field.group(1).lower(), field.group(2)
        declared.update(_DECLARED_BOUNDARY.findall(value))
        if in_part and name in ("content-disposition", "content-transfer-encoding"):
            continue
        if _field_gains(name, value, request):
            return True
    return False


_CALENDAR_BEGIN = re.compile(r"\s*BEGIN:V(?:CALENDAR|CARD|EVENT|TODO)\b")
_CONTENT_LINE = re.compile(r"([A-Z][A-Z0-9-]*)(?:;[^:\r\n]*)?:(.*)")
_NOT_A_PLACE = re.compile(r"[:\\]|//|^\s*/")
"""A LOCATION that a browser could follow (``https:attacker.example``, ``\\\\host``, ``/path``),
not a room or an address."""


def _is_calendar_object(lines: list[str]) -> bool:
    """Whether ``lines`` are an iCalendar or vCard object (``BEGIN:VCALENDAR``, ``SUMMARY:…``,
    ``END:VEVENT``): every line a content line named in capitals, as the formats write them,
    or a folded continuation. No line may name a field an injection gains by
    (:func:`_field_gains`), except the event's ``LOCATION`` when it holds a place rather than
    something a browser could follow (:data:`_NOT_A_PLACE`)."""
    for raw in lines:
        line = raw.rstrip("\r")
        if not line.strip() or line[:1] in (" ", "\t"):
            continue
        content = _CONTENT_LINE.fullmatch(line)
        if content is None:
            return False
        name, value = content.group(1).lower(), content.group(2)
        if name == "location":
            if _NOT_A_PLACE.search(value):
                return False
        elif _field_gains(name, value, False):
            return False
    return True


_NULL_AT_END = re.compile(r"(?:%00|\x00|\\x00|\\0)$")


def null_hides_extension(fragment: str, view: str) -> bool:
    """A null byte in a file name hides a script's extension from an upload filter: in a bare
    name (``cmd.cfm%00``) or before the allowed extension (``shell.php%00.jpg``). One ending a
    path in a directory (``/etc/php.ini%00``) cuts off the suffix a file inclusion appends, which
    ``path-null-suffix`` names."""
    if not _NULL_AT_END.search(fragment):
        return True
    at = locate(view, fragment)
    return at < 0 or ("/" not in view[:at] and "\\" not in view[:at])


_EXTERNAL_ID = re.compile(r"\b(?:system|public)\s+['\"]", re.IGNORECASE)
_W3C_DOCTYPE = re.compile(
    r"<!doctype\s+html\s+public\s+(['\"])-//W3C//DTD [^'\"<>]{1,100}\1"
    r"(?:\s+(['\"])https?://www\.w3\.org/[\w./-]{1,120}\.dtd\2)?\s*>",
    re.IGNORECASE,
)
"""A page's HTML or XHTML declaration: a W3C public identifier and, if any, the W3C's own DTD."""


def dtd_reaches_out(fragment: str, view: str) -> bool:
    """A DOCTYPE or external identifier stands unless every one in the value is a W3C HTML or
    XHTML declaration (:data:`_W3C_DOCTYPE`): no internal subset, no entity, and no system
    identifier but the W3C's DTD, which no attacker serves."""
    declarations = len(_W3C_DOCTYPE.findall(view))
    if not declarations or "[" in view or "<!entity" in view.lower():
        return True
    return len(_EXTERNAL_ID.findall(view)) > declarations


_PHP_BLOCK = re.compile(r"<\?(?:php\b|=)(.*?)(?:\?>|\Z)", re.IGNORECASE | re.DOTALL)
_PHP_STRING = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\$]|\\.)*\"")
_PHP_CALL = re.compile(r"(\$?[a-z_\\][\w\\]*|\S)\s*\(", re.IGNORECASE)
_PHP_INCLUDE = re.compile(r"\b(?:include|require)(?:_once)?\b\s*\(?\s*(\S)", re.IGNORECASE)
_PHP_SAFE_INCLUDE = re.compile(r"\s*\(?\s*(['\"])[\w-]+(?:/[\w.-]+)*\.php\1", re.IGNORECASE)
_PHP_REACHES = re.compile(
    # Request input, a variable variable, a backtick, comments (which can split a name from
    # its call), heredocs, objects constructed, and static calls.
    r"\$_[a-z]|\$globals\b|\$\$|\$\{|`|/\*|#|//|<<<|\bnew\b|::|filter_input|http_raw_post_data",
    re.IGNORECASE,
)
_PHP_RENDERING = frozenset({
    # Language constructs that look like calls.
    "echo", "print", "isset", "empty", "array", "list", "if", "elseif", "foreach", "for",
    "while", "switch", "unset", "include", "require", "include_once", "require_once", "and",
    "or", "not", "return",
    # Functions that format or test a page's own data.
    "htmlspecialchars", "htmlentities", "e", "esc_html", "esc_attr", "esc_url", "__", "_e",
    "_x", "number_format", "date", "strtoupper", "strtolower", "ucfirst", "ucwords", "trim",
    "count", "nl2br", "implode", "join", "sprintf", "printf", "round", "intval", "floatval",
    "strlen", "substr", "str_replace", "in_array", "array_keys", "array_values", "json_encode",
    "urlencode", "rawurlencode", "max", "min", "abs", "is_array", "is_null", "is_numeric",
    "get_header", "get_footer", "get_sidebar", "get_template_part", "the_title", "the_content",
    "the_excerpt", "the_permalink", "the_post", "have_posts", "wp_head", "wp_footer",
    "bloginfo", "body_class", "post_class", "route", "url", "asset", "old", "csrf_field",
    "csrf_token", "method_field", "trans", "lang", "view", "number", "money_format",
})
"""What a page's own PHP calls to render its data: PHP blocks holding nothing else are a
page's source, not a shell (see :func:`script_reaches_system`)."""


def script_reaches_system(fragment: str, view: str) -> bool:
    """A PHP block is malicious content unless it only renders its page: every call in every
    block is a language construct or a formatting function of :data:`_PHP_RENDERING` called
    by name, every include names a relative ``.php`` file of the site, and there is no request
    input, backtick, comment, variable or string called as a function, object, static call or
    heredoc. ``<?php echo htmlspecialchars($name); ?>`` or a ``foreach`` over a template's
    items is a page's own code, pasted; anything else may reach the system. Other server script
    markers (JSP, ASP) stand as they are."""
    if not fragment.lstrip().startswith("<?"):
        return True
    blocks = _PHP_BLOCK.findall(view)
    if not blocks:
        return True
    for block in blocks:
        if _PHP_REACHES.search(block):
            return True
        for include in _PHP_INCLUDE.finditer(block):
            if not _PHP_SAFE_INCLUDE.match(block, include.end(1) - 1):
                return True
        code = _PHP_STRING.sub("''", block)
        if any(name.lower().lstrip("\\") not in _PHP_RENDERING
               for name in _PHP_CALL.findall(code)):
            return True
    return False


VIEW_LEVEL = frozenset({
    "climbs_out", "not_a_table", "sink_in_code", "query_breaks_out",
    "template_expression_active", "parent_step_escapes", "script_reaches_system",
    "dtd_reaches_out", "body_splits_response", "frame_loads_foreign", "header_injected",
})
"""Confirmers whose answer depends on the value alone, not on which match they are given: a
rejected first match means every match is rejected, so later ones are not read."""


CONFIRM_GATES: dict[str, Callable[[str], bool]] = {
    "query_breaks_out": lambda view: _WHOLE_QUERY.match(view) is not None,
    "climbs_out": references_a_neighbour,
    "filter_breaks_out": _may_be_whole_filter,
    "not_a_table": lambda view: view.count("|") >= 2,
}
"""For confirmers that can only reject a hit in some values, a test of the value alone that is
false whenever the confirmer would let every hit stand: the detector then skips the exact span
and the call (an RE2 search and a timing each) for those values."""


CONFIRMERS: dict[str, Callable[[str, str], bool]] = {
    "constant_comparison": constant_comparison,
    "quote_breaks_out": quote_breaks_out,
    "not_parameterised": not_parameterised,
    "statement_breaks_out": statement_breaks_out,
    "query_breaks_out": query_breaks_out,
    "unix_backtick": unix_backtick,
    "separator_command_runs": separator_command_runs,
    "not_a_table": not_a_table,
    "caret_word_is_command": caret_word_is_command,
    "opens_data_element": opens_data_element,
    "outside_prose_code_span": outside_prose_code_span,
    "command_line_runs": command_line_runs,
    "shell_path_runs": shell_path_runs,
    "fetch_runs": fetch_runs,
    "attribute_breakout": attribute_breakout,
    "operator_reaches_query": operator_reaches_query,
    "script_tag_runs": script_tag_runs,
    "markup_active": markup_active,
    "parent_step_escapes": parent_step_escapes,
    "climbs_out": climbs_out,
    "filter_breaks_out": filter_breaks_out,
    "query_call_runs": query_call_runs,
    "sink_in_code": sink_in_code,
    "path_not_named_in_sentence": path_not_named_in_sentence,
    "windows_path_names_file": windows_path_names_file,
    "sensitive_path_targeted": sensitive_path_targeted,
    "system_path_target": system_path_target,
    "template_statement_active": template_statement_active,
    "template_expression_active": template_expression_active,
    "dot_outside_block": dot_outside_block,
    "handler_runs": handler_runs,
    "script_reaches_system": script_reaches_system,
    "dtd_reaches_out": dtd_reaches_out,
    "body_splits_response": body_splits_response,
    "header_injected": header_injected,
    "frame_loads_foreign": frame_loads_foreign,
    "null_hides_extension": null_hides_extension,
}
