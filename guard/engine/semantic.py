"""The semantic layer: a small linear model that scores obfuscated attacks in one input value.

The model is a multinomial logistic regression over eleven classes (``benign`` plus the ten
attack classes), trained offline by :mod:`guard.engine.semantic_train` and shipped as package
data (``guard/data/semantic_model.json.gz``). It reads three feature blocks of the
already-normalised value:

* ``ngram``: character 1- and 3-grams of the canonical view (lower case, digit runs as ``0``,
  blank runs as one space, newline runs as ``\\n``), scaled by ``1/sqrt(count)`` so that length
  does not inflate a score;
* ``token``: word and punctuation tokens of the same view with SQL comments removed, and token
  bigrams (``union select``, ``; cat``, ``' or``), scaled the same way;
* ``structure``: named grammar features (an event-handler attribute, a ``../`` run, a
  ``$operator``, a header name after a newline, a quote breaking out of a string, ...), each 1.

Inference needs no framework. Where the package's small C module
(:mod:`guard.engine._featurize`) was compiled, an ASCII value's n-grams and tokens are looked up
and their quantised class weights summed there in one pass. Elsewhere, and for other text, a
value becomes sets of features (feature strings, or where cheaper to build, 3-grams packed into
integers and token pairs as tuples) whose eleven class weights are summed at once as packed
integers (see ``_QUANTUM``). Both paths add the same integers, so they give the same verdict.
Long values are cut to a fixed character budget around their most
suspicious regions, so the cost per value is bounded. A missing or corrupt model never raises:
:attr:`SemanticAnalyzer.loaded` is False and every verdict is benign with probability 0.
"""

from __future__ import annotations

import gzip
import json
import logging
import math
import os
import re
import struct
import sys
from collections.abc import Callable, Hashable, Iterable, Sequence
from functools import cache
from importlib import resources
from itertools import count, islice, pairwise, repeat
from operator import add
from typing import Any, NamedTuple

from guard.engine.confirm import (
    confirm_at,
    locate,
    names_no_command,
    operator_reaches_query,
    path_mentioned,
    quotes_inert_markup_or_svg,
    quotes_inert_templates,
    quotes_whole_filter,
    quotes_whole_query,
    reads_as_table,
    references_a_neighbour,
    steps_back_inside,
    unix_backtick,
    word_is_a_name,
)
from guard.engine.matcher import HYPERSCAN_AVAILABLE, LinearMatcher, MatchSpec, build_matcher
from guard.engine.native import featurize as _featurize
from guard.engine.rules import CLASSES as ATTACK_CLASSES

FAST_FEATURES = _featurize is not None
"""True when the compiled feature scorer is available (see the module docstring)."""

logger = logging.getLogger(__name__)

CLASSES: tuple[str, ...] = ("benign", *ATTACK_CLASSES)
"""Model output classes, in weight-vector order; index 0 is benign."""

BLOCKS: tuple[str, ...] = ("ngram", "token", "structure")
"""Feature blocks, in the order :func:`extract` returns them."""

MODEL_FORMAT = "guard-semantic/1"
"""The ``format`` tag a model file must carry."""

MODEL_RESOURCE = "semantic_model.json.gz"
"""File name of the shipped model inside the ``guard.data`` package."""

NGRAM_SIZES: tuple[int, ...] = (1, 3)
"""Character n-gram lengths the trainer uses; a model file records its own."""

WINDOW_BUDGET = 768
"""Most characters of one value the model reads; longer values are cut to windows."""

SCAN_LIMIT = 32768
"""How far into a long value windows are looked for (the tail window is always read)."""

_WINDOW = 192
_START = "\x02"
_END = "\x03"
_MAX_FEATURES = 8
_EXPLAIN_MIN = 0.01

_DIGITS = re.compile(r"\d+")
_ZERO_DIGITS = bytes.maketrans(b"123456789", b"000000000")
_ZEROS = re.compile("00+")
_BLANKS = re.compile(r"[^\S\r\n]{2,}|[^\S \r\n]")
_NEWLINES = re.compile(r"[\r\n]+")
_SQL_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_TOKEN = re.compile(r"[a-z_]+|0|\n|[^\w\s]")

# Where a long value is cut to windows, they go where these characters are densest.
_MARKS = bytes(int(chr(i) in "<>'\";|&$`{}()%=\\\n\r\x00") for i in range(256))

# The gate. Every attack class needs one of these characters (control and private-use characters
# included: they are what is left of over-long or truncated encodings), a few two-character
# sequences, one of these words, or (for a dangerous upload name) a trailing extension or a
# leading dot. The character class is one C-level scan; the rest run only on values without.
_GATE_CHARS = re.compile(
    r"[<>'\"`;|&$(){}\[\]%\\*=#@^~+\x00-\x08\x0a-\x1f\x7f\ue000-\uf8ff\ufffd/]"
)
_GATE_SEQUENCES = ("--", "..", "0x", " .")
_GATE_HEADER = re.compile(r"[^\x00-\x7f][a-z][\w-]*:")
_GATE_EXTENSION = re.compile(r"\.[a-z0-9]{2,6}[\s.]*$")
# The same tests, split for text holding one value per line: the characters (a plain class,
# which re scans fast) and the rest, which are rare enough to look for one by one.
_GATE_LINE_CHARS = re.compile(
    r"[<>'\"`;|&$(){}\[\]%\\*=#@^~+\x00-\x08\x0b-\x1f\x7f\ue000-\uf8ff\ufffd/]"
)
_GATE_LINE_SEQUENCES = ("--", "..", "0x", "0X", " .", "\n.")
_GATE_LINE_EXTENSION = re.compile(r"\.[a-z0-9]{2,6}[ \t\r\f\v.]*$", re.MULTILINE | re.IGNORECASE)
_GATE_LINE_HEADER = re.compile(r"[^\x00-\x7f][a-z][\w-]*:", re.IGNORECASE)

_COMMAND = (
    r"(?:ls|id|cat|whoami|uname|ping|nc|ncat|netcat|wget|curl|bash|sh|zsh|cmd|powershell|echo"
    r"|sleep|nslookup|dig|dir|type|net|netsh|ipconfig|ifconfig|perl|python\d?|php|ruby|rm"
    r"|chmod|touch|telnet|systeminfo|hostname|pwd|env|kill|ps|find|tftp|xterm|uptime)"
)
_EXEC_EXTENSION = (
    r"(?:php\d?|phtml?|phar|pht|pgif|shtml?|asp|aspx|asa|cer|ashx|asmx|jsp|jspx|jsw|jsv|jspf"
    r"|cfm|cfc|cgi|pl|py|sh|exe|war|svg|xamlx|soap|htaccess|config|inc)"
)

# A dot and the start of each of _EXEC_EXTENSION's names.
_EXTENSION_NEEDLES = (
    ".ph", ".pgif", ".sh", ".as", ".cer", ".js", ".cf", ".cgi", ".pl", ".py", ".exe", ".war",
    ".svg", ".xamlx", ".soap", ".htaccess", ".config", ".inc",
)

# (name, keys, pattern). A pattern only runs when one of its keys occurs in the value: a key of
# one character is looked up in the value's character set, a longer key in its token set, so
# finding the candidate features costs two C-level set intersections instead of a regex each.
# A pattern that would start with a look-behind or a mixed alternation is written to start with
# a character or a set of literal first characters instead, so the regex engine skips to
# candidate positions in C rather than trying a match at each one: "o(?<![a-z_]o)r" means
# "(?<![a-z_])or", and "[;$](?:(?<=\$)\(|(?<!\$))" means "(?:;|\$\()".
_STRUCTURE_SPECS: tuple[tuple[str, str, str], ...] = (
    ("sql:union-select", "union", r"u(?<!\wu)nion\W+(?:all\W+|distinct\W+)?select\b"),
    ("sql:tautology", "= like is",
     r"(?:o(?<![a-z_]o)r|a(?<![a-z_]a)nd|x(?<![a-z_]x)or|h(?<![a-z_]h)aving|w(?<![a-z_]w)here)"
     r"(?![a-z_])\W{0,4}(\w+)\W{0,4}(?:=|<=>|\blike\b|\bis\b)"
     r"\W{0,4}\1\b"),
    ("sql:breakout", "' \" `",
     r"^[\w@.-]*['\"`]\s*\)*\s*(?:\bor\b|\band\b|\bxor\b|union\b|select\b|having\b"
     r"|order\s+by|group\s+by|waitfor\b|procedure\b|;|--|#|/\*|\|\||&&)"),
    ("sql:comment-end", "- # /", r"(?:--|#|/\*)[\s-]*$"),
    ("sql:time-function", "sleep benchmark pg_sleep waitfor dbms_pipe dbms_lock",
     r"\b(?:sleep|benchmark|pg_sleep|dbms_pipe\.receive_message|dbms_lock\.sleep)\s*\("
     r"|\bwaitfor\s+delay\b"),
    ("sql:stacked", ";",
     r";\s*(?:select|insert|update|delete|drop|exec|execute|declare|shutdown|create|alter"
     r"|truncate)\s"),
    ("sql:injection-function",
     "extractvalue updatexml load_file group_concat information_schema version xp_cmdshell"
     " sysobjects utl_http utl_inaddr dbms_pipe dbms_lock dbms_xmlgen pg_sleep all_tables"
     " user_tables",
     r"extractvalue|updatexml|load_file|group_concat|information_schema|@@version|xp_cmdshell"
     r"|sysobjects|utl_http|utl_inaddr|dbms_\w+|pg_sleep|all_tables|user_tables"),
    ("sql:hex", "x", r"0x[0-9a-f]{6,}"),
    ("xss:event-handler", "=", r"[\s\"'/;]on[a-z]{3,}\s*="),
    ("xss:script-tag", "<",
     r"<\s*/?\s*(?:script|iframe|frame|frameset|svg|object|embed|applet|meta|base|math"
     r"|isindex|xss|marquee)\b"),
    ("xss:tag-handler", "<", r"<[a-z][^>]*[\s\"'/]on[a-z]{3,}\s*="),
    ("xss:script-uri", "javascript vbscript livescript data",
     r"(?:java|vb|live)script\s*:|data\s*:\s*(?:text/html|image/svg|application/)"),
    ("xss:js-call",
     "alert prompt confirm eval fromcharcode atob settimeout setinterval execscript document"
     " window",
     r"\b(?:alert|prompt|confirm|eval|fromcharcode|atob|settimeout|setinterval|execscript)"
     r"\s*[(`]|\b(?:document|window)\s*\.\s*(?:cookie|domain|write|location)"),
    ("cmd:metachar-command", "; | & ` \n $",
     r"[;|&`\n$](?:(?<=\$)\(|(?<!\$))\s*" + _COMMAND + r"\b"),
    ("cmd:substitution", "$ `", r"\$\(\s*[a-z]|`\s*" + _COMMAND + r"\b[^`]*`|\$\{ifs\}"),
    ("cmd:bin-path", "bin sbin", r"/(?:usr/)?s?bin/[a-z]"),
    ("cmd:code-call",
     "system exec shell_exec passthru popen proc_open pcntl_exec assert phpinfo getruntime"
     " processbuilder",
     r"(?:s(?<!\ws)ystem|e(?<!\we)xec|s(?<!\ws)hell_exec|p(?<!\wp)assthru|p(?<!\wp)open"
     r"|p(?<!\wp)roc_open|p(?<!\wp)cntl_exec|a(?<!\wa)ssert|p(?<!\wp)hpinfo|g(?<!\wg)etruntime"
     r"|p(?<!\wp)rocessbuilder)\s*\("),
    ("cmd:php-open", "?", r"<\?(?:php|=)"),
    ("cmd:shellshock", "{", r"\(\)\s*\{\s*:?\s*;?\s*\}\s*;"),
    ("cmd:reverse-shell", "tcp nc bash", r"/dev/tcp/|n(?<!\wn)c\s+-[elvn]|b(?<!\wb)ash\s+-i\b"),
    ("path:dotdot", ".", r"\.\.[/\\]"),
    ("path:dotdot-run", ".", r"\.\.[/\\][^.]{0,3}\.\.[/\\]"),
    ("path:sensitive-file",
     "etc ini windows system proc log config htaccess id_rsa authorized_keys bash_history"
     " conf cnf",
     r"etc/(?:passwd|shadow|hosts|group|issue|motd|fstab|crontab)|boot\.ini|win\.ini"
     r"|system32|proc/self|(?:^|[=:'\"(,;|&>./])\s*/var/log|web\.config|\.htaccess|id_rsa|authorized_keys"
     r"|\.bash_history|wp-config|httpd\.conf|php\.ini|my\.cnf"),
    ("path:wrapper", "php file zip phar expect glob jar netdoc gopher dict",
     r"(?:p(?<!\wp)hp|f(?<!\wf)ile|z(?<!\wz)ip|p(?<!\wp)har|e(?<!\we)xpect|g(?<!\wg)lob"
     r"|j(?<!\wj)ar|n(?<!\wn)etdoc|g(?<!\wg)opher|d(?<!\wd)ict)://"),
    ("path:nul", "\x00", "\x00"),
    ("ssti:placeholder", "{", r"\{\{\s*[\w.]*\s*\}\}"),
    ("ssti:expression", "{", r"[{$#@*]\{[^}]*[*.(\[|][^}]*\}"),
    ("ssti:block", "%", r"\{%.*?%\}|<%=?.*?%>"),
    ("ssti:dunder",
     "__class__ __mro__ __subclasses__ __globals__ __builtins__ __init__ __import__ __base__"
     " __bases__ __dict__ __getattribute__",
     r"__\w+__"),
    ("ssti:java-reflection", "getclass forname getruntime exec",
     r"getclass\(|forname\(|getruntime\(|\.exec\("),
    ("nosql:operator", "$",
     r"\$(?:ne|eq|gt|gte|lt|lte|in|nin|regex|where|exists|expr|or|and|not|nor|elemmatch"
     r"|type|mod|size|all)\b"),
    ("nosql:bracket-operator", "[", r"\[\s*\$[a-z]+\s*\]"),
    ("nosql:js", "this match", r"t(?<!\wt)his\.\w+|\.match\("),
    ("ldap:filter-break", ")", r"\)\s*\(\s*[|&!]?\s*\(?\s*[a-z]*\s*[~<>]?="),
    ("ldap:operator", "| & !", r"\(\s*[|&!]\s*\("),
    ("ldap:wildcard-close", "*", r"\*\s*\)"),
    ("crlf:header", "\n \r",
     r"[\r\n]\s*(?:set-cookie|location|content-[a-z]+|x-[a-z-]+|refresh|access-control-[a-z-]+"
     r"|host|cache-control|link|http/\d|transfer-encoding|connection|server|cookie)\s*:"),
    ("crlf:header-like", "\n \r", r"[\r\n]\s*[a-z][\w-]{1,40}\s*:"),
    ("xml:doctype", "doctype", r"<!doctype"),
    ("xml:entity", "entity", r"<!entity"),
    ("xml:external-id", "system public", r"(?:s(?<!\ws)ystem|p(?<!\wp)ublic)\s+['\"]"),
    ("xml:entity-ref", ";", r"[&%][a-z_][\w.-]*;"),
    ("xml:xsl", "xsl xi xinclude", r"<xsl:|xi:include|xinclude"),
    ("upload:exec-extension", ".", r"\." + _EXEC_EXTENSION + r"(?:[\s.;:%\x00/\\]|::\$data|$)"),
    ("upload:double-extension", ".",
     r"\." + _EXEC_EXTENSION + r"[^a-z0-9]{0,3}\.(?:jpe?g|png|gif|bmp|txt|pdf)\b"
     r"|\.(?:jpe?g|png|gif|bmp)\W{0,3}\." + _EXEC_EXTENSION + r"\b"),
    ("upload:ntfs-stream", "$", r"::\$data"),
)

# Substrings of which every match of a pattern holds at least one. The keys above are common in
# prose and JSON (".", "=", "-", ";", "\n", "this"), and a regex without a literal prefix costs
# several microseconds on a full window, so a candidate is first tested for its needles: in the
# C module (all of a feature's needles, a few nanoseconds each), or in Python, where each costs a
# call and only the features with a few needles are tested.
_NEEDLES: dict[str, tuple[str, ...]] = {
    "sql:union-select": ("select",),
    "sql:tautology": ("or", "and", "having", "where"),
    "sql:comment-end": ("--", "#", "/*"),
    "xss:event-handler": ("on",),
    "xss:tag-handler": ("on",),
    "xss:script-uri": (":",),
    "xss:js-call": ("(", "`", "."),
    "cmd:code-call": ("(",),
    "cmd:reverse-shell": ("/dev/tcp/", "nc", "bash"),
    "path:dotdot": ("../", "..\\"),
    "path:dotdot-run": ("../", "..\\"),
    "path:sensitive-file": (
        "etc/", "boot.ini", "win.ini", "system32", "proc/self", "/var/log", "web.config",
        ".htaccess", "id_rsa", "authorized_keys", ".bash_history", "wp-config", "httpd.conf",
        "php.ini", "my.cnf",
    ),
    "path:wrapper": ("://",),
    "ssti:placeholder": ("{{",),
    "ssti:expression": ("{{", "${", "#{", "@{", "*{"),
    "ssti:block": ("{%", "<%"),
    "nosql:js": ("this.", ".match("),
    "ldap:filter-break": ("=",),
    "ldap:operator": ("(",),
    "ldap:wildcard-close": (")",),
    "crlf:header": (":",),
    "crlf:header-like": (":",),
    "xml:entity-ref": ("&", "%"),
    "upload:exec-extension": _EXTENSION_NEEDLES,
    "upload:double-extension": _EXTENSION_NEEDLES,
}

_Search = Callable[[str], object]


_PYTHON_NEEDLES = 4
"""Most needles a feature's Python test looks for before its regex (see ``_NEEDLES``)."""


def _searcher(name: str, pattern: str) -> _Search:
    """Return a test for one structure pattern, with its needle prefilter if it has a short
    one (the compiled scorer tests every feature's needles before the pattern runs)."""
    search = re.compile(pattern, re.DOTALL).search
    needles = _NEEDLES.get(name)
    if needles is None or len(needles) > _PYTHON_NEEDLES:
        return search

    def guarded(text: str) -> object:
        return any(map(text.__contains__, needles)) and search(text)

    return guarded


_STRUCTURE = tuple((name, _searcher(name, pattern)) for name, _, pattern in _STRUCTURE_SPECS)
# The same tests without needles, for candidates the compiled scorer has already tested for them.
_STRUCTURE_BARE = tuple(
    (name, re.compile(pattern, re.DOTALL).search) for name, _, pattern in _STRUCTURE_SPECS
)


def _key_index(single: bool) -> dict[str, frozenset[tuple[str, _Search]]]:
    index: dict[str, set[tuple[str, _Search]]] = {}
    for (_, keys, _), feature in zip(_STRUCTURE_SPECS, _STRUCTURE, strict=True):
        for key in keys.split(" "):
            if (len(key) == 1) == single:
                index.setdefault(key, set()).add(feature)
    return {key: frozenset(features) for key, features in index.items()}


_CR = frozenset("\r")

_NO_CANDIDATES: frozenset[tuple[str, _Search]] = frozenset()


_BY_CHAR = _key_index(single=True)
_BY_TOKEN = _key_index(single=False)
_STRUCTURE_INDEX = {name: i for i, (name, _) in enumerate(_STRUCTURE)}

PREFILTER_FROM = 256
"""Windows at least this long have their structure candidates narrowed by one Hyperscan pass
before each remaining pattern's regex runs: on a long window a regex search costs about 2 µs,
and ten or more of them are common; on a short one the pass would cost what it saves."""


def _for_ascii_pcre(pattern: str) -> str:
    """``pattern`` widened so that Hyperscan matches it wherever Python's ``re`` does on ASCII
    text, where Python's ``\\s`` also matches ``\\x1c``-``\\x1f`` and PCRE's does not. A
    negated blank class (``[^\\s]``) cannot be widened that way and raises ValueError."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            escape = pattern[i : i + 2]
            if escape == "\\S" and not in_class:
                out.append("[^\\s\\x1c-\\x1f]")
            elif escape == "\\s":
                out.append("\\s\\x1c-\\x1f" if in_class else "[\\s\\x1c-\\x1f]")
            elif escape == "\\S":
                raise ValueError(f"cannot widen \\S in a class: {pattern!r}")
            else:
                out.append(escape)
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
            if pattern.startswith("[^", i) and "\\s" in pattern[i : pattern.find("]", i + 2)]:
                raise ValueError(f"cannot widen a negated blank class: {pattern!r}")
            # A "]" right after "[" or "[^" is a member, not the end of the class.
            opening = 2 if pattern.startswith("[^", i) else 1
            if pattern[i + opening : i + opening + 1] == "]":
                out.append(pattern[i : i + opening + 1])
                i += opening + 1
                continue
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
        i += 1
    return "".join(out)


_structure_prefilter: list[LinearMatcher] = []


def _possible_structure(lowered: str) -> int:
    """A mask of the structure features whose pattern may match ASCII ``lowered`` (bit i:
    ``_STRUCTURE[i]``), from one Hyperscan pass in prefilter mode, which approximates
    back-references and look-arounds and so reports a superset; all ones without Hyperscan."""
    if not HYPERSCAN_AVAILABLE:
        return -1
    if not _structure_prefilter:
        specs = [MatchSpec(_for_ascii_pcre(p), prefilter=True) for _, _, p in _STRUCTURE_SPECS]
        _structure_prefilter.append(build_matcher(specs))
    mask = 0
    for index in _structure_prefilter[0].scan(lowered):
        mask |= 1 << index
    return mask

_MATCHES_READ = 32
"""A cased check reads this many matches of its feature at most; a value with more keeps the
feature (each check costs a pass over the value, and so many is not text quoting one)."""
_METACHAR_COMMAND = re.compile(
    next(p for n, _, p in _STRUCTURE_SPECS if n == "cmd:metachar-command"), re.I | re.DOTALL
)


def _unix_metachar_command(original: str) -> bool:
    """A separator before a command, with a backtick only counted as the rule's confirmer counts
    it (before a lowercase command, not beside another backtick): Markdown and reST code spans
    and fences (`` ```python ``, `` `Python bug tracker <url>`_ ``) are not substitutions. A
    command word straight before ``=`` or ``:`` is a name being set or a key (``&id=15``,
    ``| id: {key}``), an indented line opening with a word in mixed case (``  HostName``) holds
    no command, and the pipes of a table (``| Name | Type |``) run nothing."""
    matches = list(islice(_METACHAR_COMMAND.finditer(original), _MATCHES_READ + 1))
    if len(matches) > _MATCHES_READ:
        return True
    return not reads_as_table(original) and any(
        confirm_at(match.start(), _runs_as_command, match.group(), original)
        for match in matches
    )


def _runs_as_command(fragment: str, original: str) -> bool:
    """The separator rule's reading of one separator-and-command match (told where it starts
    by :func:`confirm_at`)."""
    return (unix_backtick(fragment, original)
            and not word_is_a_name(original, locate(original, fragment) + len(fragment))
            and not names_no_command(fragment, original))


_TRAILING_COMMENT = re.compile(
    next(p for n, _, p in _STRUCTURE_SPECS if n == "sql:comment-end"), re.I | re.DOTALL
)
_CLAUSE_MARK = re.compile(r"[\s'\"=)]")
_GLOB_TAIL = re.compile(r"[a-z_]/\Z", re.IGNORECASE)
_ACCEPT_FIELD = re.compile(r"\s*accept[ \t]*:", re.IGNORECASE)
_MEDIA_RANGES = re.compile(
    r"\s*(?:accept[ \t]*:[ \t]*)?"
    r"(?:[a-z*]+/[\w.+*-]+(?:[ \t]*;[ \t]*[\w.-]+=[\w.-]+)*[ \t]*,[ \t]*)*"
    r"\*/\*(?:[ \t]*;[ \t]*q=[\d.]+)?\s*",
    re.IGNORECASE,
)


def _comment_ends_a_clause(original: str) -> bool:
    """A trailing ``#`` ends an injected clause only after one: a quote that broke out, a blank
    between words, an ``=`` or a closing bracket before it. A single word with a ``#`` at its
    end (a generated password, ``C#``) comments nothing out. A ``/*`` straight after a name is a
    glob over a directory (``h2ph * sys/* netinet/*``), and a value that is nothing but a list
    of media ranges ending in ``*/*``, or whose last line is an ``Accept`` field holding one,
    is a header's (``application/json, text/plain, */*``), not a comment after a value or a
    quote (``or 1=1/*``, ``admin'/*``, SQLite's ``RETURNING id/1, */*``). ``--`` stands as it
    is.
    """
    match = _TRAILING_COMMENT.search(original)
    if match is None or match.group().startswith("-"):
        return True
    if match.group().startswith("/"):
        line = original.rfind("\n") + 1
        media = _MEDIA_RANGES.fullmatch(original, line) is not None and (
            line == 0 or _ACCEPT_FIELD.match(original, line) is not None)
        return _GLOB_TAIL.search(original, 0, match.start() + 1) is None and not media
    return _CLAUSE_MARK.search(original, 0, match.start()) is not None


_SENSITIVE_FILE = re.compile(
    next(p for n, _, p in _STRUCTURE_SPECS if n == "path:sensitive-file"), re.DOTALL
)
"""Read on the lower-cased value, as the feature's first test reads it: Python's caseless
search of this alternation costs several times a plain one."""


def _sensitive_file_targeted(original: str) -> bool:
    """A well-known file counts where some mention of it is a target, not one named in a
    sentence as the ``path-sensitive-file`` rule's confirmer reads it (``Use a file other than
    /etc/passwd.``)."""
    lowered = original.lower()
    if len(lowered) != len(original):
        # A character whose lower case is longer would shift every offset after it.
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in original)
    for read, match in enumerate(_SENSITIVE_FILE.finditer(lowered)):
        if read >= _MATCHES_READ or not path_mentioned(original, match.start(), match.end()):
            return True
    return False


def _operator_reaches_query(original: str) -> bool:
    """A query operator counts unless it sits in a document a sentence quotes, as the NoSQL
    rules' confirmer reads it (``MongoDB queries like {"age": {"$gt": 18}} find adults``)."""
    return operator_reaches_query(original, original)


def _climbs_out(original: str) -> bool:
    """Parent steps count unless they reference a neighbouring source file, as the path rules'
    confirmer reads them (``import … from "../../components/Button"``)."""
    return not references_a_neighbour(original)


# Features whose lower-case match is re-checked on the value as written, where case or the
# text around the match matters. They only run on values that already matched, so clean
# traffic pays nothing for them.
_CASED_CHECKS: dict[str, Callable[[str], bool]] = {
    "cmd:metachar-command": _unix_metachar_command,
    "sql:comment-end": _comment_ends_a_clause,
    "path:sensitive-file": _sensitive_file_targeted,
    "nosql:operator": _operator_reaches_query,
    "path:dotdot": _climbs_out,
    "path:dotdot-run": _climbs_out,
}


def canonical(lowered: str) -> str:
    """Return the canonical view of lower-cased text: digit runs as ``0``, blanks collapsed."""
    if lowered.isascii():
        # A bytes translate is one C pass, several times cheaper than a regex substitution, and
        # a run of zeros after mapping every digit to "0" is exactly a digit run before.
        view = lowered.encode("ascii").translate(_ZERO_DIGITS).decode("ascii")
        if "00" in view:
            view = _ZEROS.sub("0", view)
    else:
        view = _DIGITS.sub("0", lowered)
    # Substring tests first: most values have no blank run or CR, and a scan is dearer.
    if "  " in view or "\t" in view or "\x0b" in view or "\x0c" in view or not view.isascii():
        view = _BLANKS.sub(" ", view)
    return _NEWLINES.sub("\n", view) if "\r" in view or "\n\n" in view else view


def char_ngrams(view: str, sizes: Iterable[int]) -> set[str]:
    """Return the character n-grams of ``view`` padded with start and end marks."""
    padded = _START + view + _END
    grams: set[str] = set()
    for size in sizes:
        if size == 1:
            grams.update(padded)
        else:
            grams.update(map("".join, zip(*(padded[i:] for i in range(size)), strict=False)))
    return grams


def token_features(view: str) -> set[str]:
    """Return the tokens of ``view`` without SQL comments, and its token bigrams."""
    if "/*" in view:
        view = _SQL_COMMENT.sub(" ", view)
    tokens = _TOKEN.findall(view)
    feats = set(tokens)
    feats.update(map(" ".join, pairwise(tokens)))
    return feats


def structure_features(
    lowered: str, tokens: Iterable[str], chars: Iterable[str] = (), original: str = ""
) -> set[str]:
    """Return the named structure features of a lower-cased value with the given tokens.

    ``chars`` may hold a superset of the characters of ``lowered`` already at hand (a caller
    with the canonical view's characters passes those, plus ``\\r`` when it holds ``\\n``); when
    empty, the characters of ``lowered`` are collected here. Extra characters only add
    candidates, which the patterns then reject. ``original`` is the value before lower-casing
    (``lowered`` when not given), which the features in ``_CASED_CHECKS`` re-read.
    """
    candidates = _NO_CANDIDATES.union(
        *map(_BY_CHAR.__getitem__, _BY_CHAR.keys() & (chars or set(lowered))),
        *map(_BY_TOKEN.__getitem__, _BY_TOKEN.keys() & tokens),
    )
    original = original or lowered
    return {name for name, search in candidates if _holds(name, search, lowered, original)}


def _holds(name: str, search: _Search, lowered: str, original: str) -> bool:
    """Whether a candidate structure feature is present: its pattern matches ``lowered``, and
    where case or context matters (``_CASED_CHECKS``) the value as written agrees."""
    return bool(search(lowered)) and (name not in _CASED_CHECKS or _CASED_CHECKS[name](original))


def extract(
    text: str, sizes: Sequence[int] = NGRAM_SIZES
) -> tuple[set[str], set[str], set[str]]:
    """Return the (n-gram, token, structure) feature sets of already-normalised ``text``."""
    lowered = text.lower()
    view = canonical(lowered)
    tokens = token_features(view)
    return char_ngrams(view, sizes), tokens, structure_features(lowered, tokens, (), text)


def select_windows(text: str) -> str:
    """Return ``text`` cut to at most ``WINDOW_BUDGET`` characters around suspicious regions.

    The head and the tail windows are always kept. The others are the half-overlapping blocks
    with the most attack punctuation among the first ``SCAN_LIMIT`` characters, so decoys at the
    start do not hide a payload further in. Windows are joined by end and start marks, so no
    n-gram spans a cut.
    """
    if len(text) <= WINDOW_BUDGET:
        return text
    last = len(text) - _WINDOW
    scan_end = min(last, SCAN_LIMIT)
    # One byte per character (latin-1 with "?" for the rest keeps offsets), 1 where suspicious:
    # a block's score is then one C-level bytes.count.
    marks = text[:scan_end].encode("latin-1", "replace").translate(_MARKS)
    step = _WINDOW // 2
    candidates = range(_WINDOW, scan_end, step)
    # A window is two half-windows, so each half is counted once (one C-level map) and
    # neighbours are added; a reverse sort is still stable, so ties keep the earlier start.
    starts = range(_WINDOW, scan_end + step, step)
    if _featurize is not None:
        halves = _featurize.block_counts(marks, _WINDOW, step, len(starts))
    else:
        halves = list(map(marks.count, repeat(1), starts, count(_WINDOW + step, step)))
    windows = list(map(add, halves, halves[1:]))
    order = sorted(range(len(candidates)), key=windows.__getitem__, reverse=True)
    ranked = map(candidates.__getitem__, order)
    chosen: list[int] = []
    for start in ranked:
        if all(abs(start - other) >= _WINDOW for other in chosen):
            chosen.append(start)
            if len(chosen) == WINDOW_BUDGET // _WINDOW - 2:
                break
    middle = [(start, min(start + _WINDOW, last)) for start in sorted(chosen)]
    spans = [(0, _WINDOW), *middle, (last, len(text))]
    return (_END + _START).join(text[a:b] for a, b in spans)


class SemanticVerdict(NamedTuple):
    """The model's opinion of one value (a named tuple: every screened value may build one,
    and a tuple is several times cheaper to build than a frozen dataclass)."""

    attack_type: str
    """The most likely attack class, or ``"benign"`` when P(attack) < 0.5."""
    probability: float
    """P(attack) = 1 - P(benign), rounded to 4 places."""
    features: tuple[tuple[str, float], ...]
    """Up to 8 (feature, contribution to the log-odds against benign) pairs for the most likely
    attack class, strongest first; empty when :meth:`SemanticAnalyzer.analyze` finds the value
    benign."""


BENIGN_VERDICT = SemanticVerdict("benign", 0.0, ())
"""The verdict of an analyzer without a model."""


# Adding eleven floats per matched feature in Python would dominate the cost of a verdict.
# Instead the class weights of a feature, quantised to 1/_QUANTUM, are packed into 64-bit fields
# of one integer, each offset by _OFFSET to stay non-negative. One C-level sum() then adds every
# class of a block at once; multiplying a block's sum by its integer scale (the 1/sqrt(count)
# factor times _MULT) and adding the blocks keeps every field separate, and one struct.unpack
# returns the eleven sums. All fields carry the same total offset, so it cancels in the
# differences to the benign field, which are all softmax needs. A field holds at most
# 2 * _OFFSET * _MULT times the most features a window budget yields, about 2**50.
_QUANTUM = 1000
_OFFSET = 1 << 20
_MULT = 1 << 16
_FIELD = 64
_FIELDS = struct.Struct(f"<{len(CLASSES)}Q")
_DENOMINATOR = _QUANTUM * _MULT


def _trigram_key(gram: str) -> int | None:
    """Return the integer :func:`_trigram_keys` gives a latin-1 3-gram, or None for another."""
    if len(gram) != 3 or not all(ord(c) < 256 for c in gram):
        return None
    return int.from_bytes(gram.encode("latin-1") + b"\0", sys.byteorder)


def _trigram_keys(padded: str) -> set[int] | set[str]:
    """Return the distinct 3-grams of ``padded``, as integers when it is latin-1.

    A 3-char string per position is the dearest part of n-gram extraction. For latin-1 text,
    three strided copies of the bytes lay each 3-gram out as one 4-byte record, which a memoryview
    reads as an unsigned int: the same set, built without a string per position.
    """
    try:
        raw = padded.encode("latin-1")
    except UnicodeEncodeError:
        return set(map("".join, zip(padded, padded[1:], padded[2:], strict=False)))
    grams = len(raw) - 2
    records = bytearray(4 * grams)
    records[0::4] = raw[:grams]
    records[1::4] = raw[1 : grams + 1]
    records[2::4] = raw[2:]
    return set(memoryview(records).cast("I"))


def _alias(block: str, feature: str) -> Hashable | None:
    """Return the second key :meth:`SemanticAnalyzer._score` looks ``feature`` up by, if any."""
    if block == "ngram":
        return _trigram_key(feature)
    if block == "token" and " " in feature:
        first, second = feature.split(" ")
        return (first, second)
    return None


class _Block:
    """One feature block of a loaded model: packed weights, and per attack class the features
    that favour it over benign (the explanation table).

    ``fast`` holds the same packed weights under the keys the scoring path builds more cheaply
    than feature strings (integer 3-grams, token pairs), besides every string key; the
    explanation tables are keyed the same way, and ``names`` maps every key back to its feature
    string.
    """

    def __init__(self, name: str, weights: dict[str, list[float]], n_classes: int) -> None:
        self.name = name
        self.packed: dict[str, int] = {}
        self.quantised: dict[str, list[int]] = {}
        self.fast: dict[Hashable, int] = {}
        self.names: dict[Hashable, str] = {}
        by_feature: list[dict[str, float]] = [{} for _ in range(n_classes)]
        for feature, vector in weights.items():
            value = 0
            self.quantised[feature] = quantised_vector = []
            for k, w in enumerate(vector):
                quantised = round(w * _QUANTUM)
                if not -_OFFSET < quantised < _OFFSET:
                    raise ValueError(f"weight out of range for {feature!r}")
                quantised_vector.append(quantised)
                value |= (quantised + _OFFSET) << (k * _FIELD)
                # Single characters only repeat what the token block already names.
                if k and w - vector[0] >= _EXPLAIN_MIN and len(feature) > 1:
                    by_feature[k][feature] = w - vector[0]
            self.packed[feature] = value
            self.fast[feature] = value
            self.names[feature] = feature
            alias = _alias(name, feature)
            if alias is not None:
                self.fast[alias] = value
                self.names[alias] = feature
        self.explain: list[dict[Hashable, float]] = [
            {key: table[name] for key, name in self.names.items() if name in table}
            for table in by_feature
        ]

    def match(self, present: set[str]) -> tuple[set[str], int]:
        """Return the known features among ``present`` and the packed sum of their weights."""
        known = self.packed.keys() & present
        return known, sum(map(self.packed.__getitem__, known))

    def top(
        self, cls: int, known: Iterable[Hashable], scale: float
    ) -> list[tuple[float, str, str]]:
        """Return the strongest (contribution, block, feature) triples towards class ``cls``.

        ``known`` may hold feature strings or their :attr:`fast` keys.
        """
        table = self.explain[cls]
        names = self.names
        keys = sorted(table.keys() & known, key=table.__getitem__, reverse=True)
        cut = _MAX_FEATURES
        if len(keys) > cut and table[keys[cut - 1]] == table[keys[cut]]:
            # A tie across the cut: break it by name, as the final sort does, so that which
            # features are kept does not depend on set order.
            keys.sort(key=lambda key: (table[key], names[key]), reverse=True)
        return [(table[key] * scale, self.name, names[key]) for key in keys[:cut]]


def _compiled_scorer(blocks: tuple[_Block, ...], relative_bias: list[float]) -> Any:
    """The model's tables in :mod:`guard.engine._featurize`, or None where that module was
    not built. Only ASCII features and keys are loaded: the compiled path reads ASCII views
    alone, and no ASCII view has any other."""
    if _featurize is None:
        return None
    ngram, token, named = blocks
    chars = [(ord(f), q) for f, q in ngram.quantised.items() if len(f) == 1 and f.isascii()]
    trigrams = [(key, ngram.quantised[f]) for f in ngram.quantised
                if len(f) == 3 and f.isascii() and (key := _trigram_key(f)) is not None]
    tokens = [(f.encode("ascii"), q) for f, q in token.quantised.items() if f.isascii()]
    keys = [(key, sum(1 << _STRUCTURE_INDEX[name] for name, _ in features))
            for index in (_BY_CHAR, _BY_TOKEN) for key, features in index.items()
            if key.isascii()]
    structure = [named.quantised.get(name, [0] * len(CLASSES)) for name, _ in _STRUCTURE]
    needles = [tuple(n.encode("ascii") for n in _NEEDLES.get(name, ())) for name, _ in _STRUCTURE]
    return _featurize.Scorer(len(CLASSES), chars, trigrams, tokens, keys, structure,
                             relative_bias, _MULT, _DENOMINATOR, needles)


def _display(block: str, feature: str) -> str:
    if block == "structure":
        return feature
    shown = feature.replace(_START, "^").replace(_END, "$").replace("\n", "\\n")
    return f"{block} {shown!r}"


class SemanticAnalyzer:
    """Scores normalised values with the shipped (or a given) semantic model."""

    def __init__(self, model_path: str | os.PathLike[str] | None = None) -> None:
        self._blocks: tuple[_Block, ...] = ()
        self._relative_bias: list[float] = []
        self._sizes: tuple[int, ...] = NGRAM_SIZES
        self._scorer: Any = None
        try:
            self._load(_read_model(model_path))
        except Exception as exc:  # any defect in the model file disables this layer, not the app
            logger.warning("semantic model unavailable, scoring disabled: %s", exc)
            self._blocks = ()

    def _load(self, model: Any) -> None:
        if not isinstance(model, dict) or model.get("format") != MODEL_FORMAT:
            raise ValueError("not a guard semantic model")
        if tuple(model["classes"]) != CLASSES:
            raise ValueError("model classes do not match")
        sizes = tuple(int(n) for n in model["ngram_sizes"])
        if not sizes or not all(1 <= n <= 8 for n in sizes):
            raise ValueError("bad n-gram sizes")
        bias = [float(b) for b in model["bias"]]
        if len(bias) != len(CLASSES):
            raise ValueError("bias length does not match classes")
        blocks = model["blocks"]
        self._blocks = tuple(
            _Block(name, _check_block(blocks[name], len(CLASSES)), len(CLASSES))
            for name in BLOCKS
        )
        self._relative_bias = [b - bias[0] for b in bias[1:]]
        self._sizes = sizes
        self._scorer = (_compiled_scorer(self._blocks, self._relative_bias)
                        if sizes == NGRAM_SIZES else None)

    @property
    def loaded(self) -> bool:
        """True when a model file was read and validated."""
        return bool(self._blocks)

    def worth_analyzing(self, text: str) -> bool:
        """Return False for values with no character, sequence or file extension of any attack.

        Words, names, numbers and sentences made of letters, digits, spaces and ``.,:!?-_``
        alone fail this test, so the engine skips the model on most clean traffic. Keywords
        alone do not pass it: an injection in plain words (``1 union select 1``) is the rules'
        to catch, and with only words the model has no syntax to weigh. Measured on dev.jsonl
        and heldout.jsonl, keeping SQL and shell keywords in the gate changed no verdict,
        attack or benign, while it sent every value that names a keyword through the model.
        """
        if _GATE_CHARS.search(text):
            return True
        lowered = text.lower()
        if any(map(lowered.__contains__, _GATE_SEQUENCES)) or lowered.startswith("."):
            return True
        if not lowered.isascii() and _GATE_HEADER.search(lowered):
            return True
        return _GATE_EXTENSION.search(lowered) is not None

    def lines_worth_analyzing(self, text: str) -> list[int]:
        """The indices of the lines of ``text`` (split at ``\\n``) that :meth:`worth_analyzing`
        passes, found in a few passes over the whole text instead of one call per line."""
        starts: list[int] = [match.start() for match in _GATE_LINE_CHARS.finditer(text)]
        for sequence in _GATE_LINE_SEQUENCES:
            at = text.find(sequence)
            while at >= 0:
                starts.append(at + 1 if sequence == "\n." else at)
                at = text.find(sequence, at + 1)
        if text.startswith("."):
            starts.append(0)
        starts.extend(match.start() for match in _GATE_LINE_EXTENSION.finditer(text))
        if not text.isascii():
            starts.extend(match.start() for match in _GATE_LINE_HEADER.finditer(text))
        found: set[int] = set()
        previous, line = 0, 0
        for start in sorted(set(starts)):
            line += text.count("\n", previous, start)
            previous = start
            found.add(line)
        return sorted(found)

    def analyze(self, text: str) -> SemanticVerdict:
        """Score one already-normalised value (``features`` left empty: see :meth:`explain`).

        Ranking the contributing features costs as much as scoring, and only an explanation
        reads them, so screening skips it. ``attack_type`` is the most likely attack class
        whenever P(attack) >= 0.5, even if benign alone is the likeliest of the eleven, so a
        score over the engine's threshold always comes with a class.
        """
        return self._score(text, explain=False)

    def explain(self, text: str) -> SemanticVerdict:
        """Score like :meth:`analyze`, always listing the features towards the best attack class."""
        return self._score(text, explain=True)

    def _score(self, text: str, *, explain: bool) -> SemanticVerdict:
        if not self._blocks or not text:
            return BENIGN_VERDICT
        if self._sizes != NGRAM_SIZES:
            windowed = select_windows(text)
            return self._score_sets(extract(windowed, self._sizes), text, explain=explain)
        # The shipped sizes, so the blocks are built here in the cheap encodings of _Block.fast;
        # each set has exactly the members (and so the length) of its extract() counterpart.
        windowed = select_windows(text)
        lowered = windowed.lower()
        view = canonical(lowered)
        if self._scorer is not None and not explain:
            sums = self._scorer.score(
                view, _SQL_COMMENT.sub(" ", view) if "/*" in view else view, lowered
            )
            if sums is not None:
                return self._score_compiled(sums, lowered, windowed, text)
        padded = _START + view + _END
        chars = set(padded)
        grams = _trigram_keys(padded)
        if "/*" in view:
            view = _SQL_COMMENT.sub(" ", view)
        tokens = _TOKEN.findall(view)
        words = set(tokens)
        pairs = set(pairwise(tokens))
        # canonical() folds "\r" into "\n", so a "\n" in the view stands for either in lowered.
        structure = structure_features(
            lowered, words, chars | _CR if "\n" in chars else chars, windowed
        )
        ngram, token, named = self._blocks
        scales = (
            1.0 / math.sqrt(len(chars) + len(grams)),
            1.0 / math.sqrt(len(words) + len(pairs) or 1),
            1.0,
        )
        fast = ngram.fast.get
        ngram_sum = sum(filter(None, map(fast, chars))) + sum(filter(None, map(fast, grams)))
        fast = token.fast.get
        token_sum = sum(filter(None, map(fast, words))) + sum(filter(None, map(fast, pairs)))
        total = (
            ngram_sum * round(scales[0] * _MULT)
            + token_sum * round(scales[1] * _MULT)
            + sum(map(named.packed.__getitem__, named.packed.keys() & structure)) * _MULT
        )
        relative = _rule_out_quoted_code(self._relative(total), text)
        p_attack = _p_attack(relative)
        if not explain:
            return _unexplained(p_attack, relative)
        known_sets: list[Iterable[Hashable]] = [chars | grams, words | pairs, structure]
        return self._verdict(p_attack, relative, known_sets, scales)

    def _score_compiled(
        self, sums: tuple[tuple[int, ...], int, tuple[int, ...], int, int], lowered: str,
        windowed: str, text: str,
    ) -> SemanticVerdict:
        """Finish :meth:`_score` from the compiled scorer's sums and structure candidates:
        the same integers and operations as the packed path, so the same verdict. Whether the
        value only quotes code is read on the whole ``text``: a window's cut can split a tag."""
        ngram_sums, ngram_count, token_sums, token_count, candidates = sums
        if candidates and len(lowered) >= PREFILTER_FROM and lowered.isascii():
            candidates &= _possible_structure(lowered)
        found = 0
        while candidates:
            bit = candidates & -candidates
            candidates ^= bit
            if _holds(*_STRUCTURE_BARE[bit.bit_length() - 1], lowered, windowed):
                found |= bit
        relative = self._scorer.relative(ngram_sums, ngram_count, token_sums, token_count, found)
        relative = _rule_out_quoted_code(relative, text)
        return _unexplained(_p_attack(relative), relative)

    def _relative(self, total: int) -> list[float]:
        """Return each attack class's log-odds against benign from a packed sum of weights."""
        # Every field carries the same total offset, so differences to the benign field are exact.
        fields = _FIELDS.unpack(total.to_bytes(_FIELDS.size, "little"))
        benign = fields[0]
        return [
            b + (f - benign) / _DENOMINATOR
            for f, b in zip(fields[1:], self._relative_bias, strict=True)
        ]

    def _score_sets(
        self, sets: tuple[set[str], set[str], set[str]], text: str, *, explain: bool
    ) -> SemanticVerdict:
        """Score feature sets from :func:`extract`; the path for a model with other n-grams.
        ``text`` is the whole value, read for quoted code."""
        scales = (1.0 / math.sqrt(len(sets[0])), 1.0 / math.sqrt(len(sets[1]) or 1), 1.0)
        total = 0
        known_sets: list[set[str]] = []
        for block, present, scale in zip(self._blocks, sets, scales, strict=True):
            known, packed = block.match(present)
            known_sets.append(known)
            total += packed * round(scale * _MULT)
        relative = _rule_out_quoted_code(self._relative(total), text)
        p_attack = _p_attack(relative)
        if not explain:
            return _unexplained(p_attack, relative)
        return self._verdict(p_attack, relative, known_sets, scales)

    def _verdict(
        self,
        p_attack: float,
        relative: list[float],
        known_sets: Sequence[Iterable[Hashable]],
        scales: Sequence[float],
    ) -> SemanticVerdict:
        """Return the verdict for ``p_attack``, explained by the best attack class's features."""
        probability = round(p_attack, 4)
        best = 1 + relative.index(max(relative))
        contributions: list[tuple[float, str, str]] = []
        for block, known, scale in zip(self._blocks, known_sets, scales, strict=True):
            contributions.extend(block.top(best, known, scale))
        contributions.sort(reverse=True)
        features = tuple(
            (_display(name, feature), round(value, 4))
            for value, name, feature in contributions[:_MAX_FEATURES]
        )
        attack_type = CLASSES[best] if p_attack >= 0.5 else "benign"
        return SemanticVerdict(attack_type, probability, features)


_QUOTED_CODE: dict[int, Callable[[str], bool]] = {
    CLASSES.index("ssti") - 1: quotes_inert_templates,
    CLASSES.index("xss") - 1: quotes_inert_markup_or_svg,
    CLASSES.index("ldap") - 1: quotes_whole_filter,
    CLASSES.index("sqli") - 1: quotes_whole_query,
    CLASSES.index("path_traversal") - 1: steps_back_inside,
}
"""Per attack class (index into the log-odds against benign), a test that the value only quotes
that class's syntax in text (for paths: its parent steps stay inside the path), with nothing in
it that runs (see :mod:`guard.engine.confirm`)."""


def _rule_out_quoted_code(relative: list[float], text: str) -> list[float]:
    """Count the model's mass for its favourite class as benign when the value quotes that
    class's syntax inertly (template tags that only name data, HTML tags with nothing active):
    the braces, tags and keywords it weighs are there, but nothing in them runs. The other
    classes keep their probabilities."""
    best = relative.index(max(relative))
    quoted = _QUOTED_CODE.get(best)
    if quoted is None or not quoted(text):
        return relative
    benign = math.log1p(math.exp(min(relative[best], 700.0)))
    return [-math.inf if k == best else r - benign for k, r in enumerate(relative)]


def _unexplained(p_attack: float, relative: list[float]) -> SemanticVerdict:
    if p_attack < 0.5:
        return SemanticVerdict("benign", round(p_attack, 4), ())
    return SemanticVerdict(CLASSES[1 + relative.index(max(relative))], round(p_attack, 4), ())


def _p_attack(relative: list[float]) -> float:
    """Return P(attack) = 1 - P(benign) from the attack classes' log-odds against benign."""
    try:
        return 1.0 - 1.0 / (1.0 + sum(map(math.exp, relative)))
    except OverflowError:
        return 1.0


def _check_block(block: Any, n_classes: int) -> dict[str, list[float]]:
    if not isinstance(block, dict):
        raise ValueError("model block is not an object")
    out: dict[str, list[float]] = {}
    for name, vector in block.items():
        if not isinstance(vector, list) or len(vector) != n_classes:
            raise ValueError(f"bad weight vector for {name!r}")
        out[str(name)] = [float(w) for w in vector]
    return out


def _read_model(model_path: str | os.PathLike[str] | None) -> Any:
    if model_path is None:
        raw = resources.files("guard.data").joinpath(MODEL_RESOURCE).read_bytes()
    else:
        with open(model_path, "rb") as fh:
            raw = fh.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return json.loads(raw)


@cache
def default_analyzer() -> SemanticAnalyzer:
    """Return the process-wide analyzer over the shipped model, loading it on first use."""
    return SemanticAnalyzer()
