"""The built-in detection rules, as data.

Each rule names one attack-grammar fact (a quote breaking out of a SQL string into a boolean
test, an event-handler attribute inside a tag, a shell separator before a command word, a
traversal reaching a sensitive file …) rather than a literal payload. Every regex is written in
the subset that Hyperscan and RE2 share: no look-arounds, no back-references, bytes semantics
(``\\s`` and ``\\w`` are ASCII), case-insensitive and dot-matches-newline.

``score`` is the rule's confidence that a match alone is an attack. Scores combine as
independent evidence (``1 - Π(1 - s)``), and a value is a threat at
:data:`guard.engine.scoring.THREAT_SCORE`; so a weak rule (below that line) only flags a value
together with other evidence. A rule with ``confirm`` set is only counted when that Python
check, run on the matched fragment, agrees: that is where a condition that would need a
look-around or back-reference lives.
"""

from __future__ import annotations

from dataclasses import dataclass

CLASSES = (
    "sqli",
    "xss",
    "cmdi",
    "path_traversal",
    "ssti",
    "crlf",
    "ldap",
    "xml",
    "nosql",
    "file_upload",
)


@dataclass(frozen=True)
class Rule:
    """One built-in pattern: id, attack class, regex, confidence, and an optional confirmer."""

    id: str
    attack_class: str
    regex: str
    score: float
    description: str
    confirm: str | None = None
    full_score_contexts: frozenset[str] | None = None
    """When set, the rule keeps its score only for these contexts and counts half elsewhere."""
    cue: str | None = None
    """What the pattern database reads in place of ``regex``: a pattern that every match of
    ``regex`` also matches (a part it cannot match without), chosen for a literal prose seldom
    holds. A rule led by a common word (``or``, ``and``, ``this``) keeps the database busy at
    every such word of a long text; its cue costs a search of ``regex`` (RE2) only on the
    values that hold the cue, and a cue hit counts only where ``regex`` itself matches."""

    def score_in(self, context: str) -> float:
        """The rule's confidence for a value screened in ``context``."""
        return context_score(self.score, self.full_score_contexts, context)


def context_score(score: float, full_score_contexts: frozenset[str] | None, context: str) -> float:
    """``score`` in the contexts listed (or everywhere when none are), half of it elsewhere."""
    if full_score_contexts is None or context in full_score_contexts:
        return score
    return score / 2


VIEW_CLASSES: dict[str, frozenset[str]] = {
    "sql": frozenset({"sqli", "nosql"}),
    "shell": frozenset({"cmdi", "path_traversal", "ssti"}),
    "path": frozenset({"path_traversal", "file_upload", "cmdi"}),
}
"""Which classes' rules read each lossy normalised view. The raw value and the canonical view
are read by every rule; the SQL view (comments stripped), the shell view (quotes and ``$IFS``
removed) and the path view (separators folded) only exist to undo one family's evasions, so
only that family's rules read them: each view then costs a fraction of a full scan. SQL has no
shell quoting to undo, and with its quotes removed a parameterised query in code reads as a
bare sub-query (``cursor.execute("SELECT * FROM t WHERE id = %s", (i,))``), so the SQL rules do
not read the shell view: no attack line of any corpus needed them there."""

CONTAINER_CLASSES = frozenset({"crlf", "ssti", "xml", "nosql", "ldap"})
"""Classes that describe how a payload is delivered (a header break, a template expression, a
DTD, a query operator, a filter). When one of these fires confidently alongside a payload class
(the script or shell command it carries), the detection is named after the container."""

CONTAINER_RULES = frozenset(
    {"upload-request-shell", "upload-disposition-script", "upload-polyglot",
     "cmdi-php-complex-syntax", "xss-template-call", "sqli-copy-program", "upload-image-script",
     "path-data-wrapper"}
)
"""Rules of a payload class that still describe the container: a web shell (a file that runs
the commands later requests send), a multipart part naming a server script, and an image
header in front of a script are named a malicious upload over what they carry; PHP's
complex string syntax (``{${…}}``) is the command injection's own delivery, not a template; a
SQL statement that runs a program is the SQL injection that carries the command."""


YIELDS_TO: dict[str, str] = {"xss-template-call": "ssti", "path-data-wrapper": "xml"}
"""Container rules that give way to a conclusive hit of another class in the same value: a
browser call in a template tag (``{{alert(1)}}``) beside a proven server-side evaluation
(``{{''.__class__…}}``, ``${7*7}``) is that server-side injection's decoy, and a data:// stream
named by an XML entity is the external entity's target."""


def names_detection(attack_class: str, rule_id: str) -> bool:
    """Whether a confident hit of this rule names the detection over the payload it carries."""
    return attack_class in CONTAINER_CLASSES or rule_id in CONTAINER_RULES

SHELL_COMMANDS = (
    r"(?:cat|tac|nl|ls|dir|id|whoami|uname|pwd|hostname|wget|curl|fetch|nc|ncat|netcat|socat"
    r"|telnet|bash|sh|zsh|ksh|csh|tcsh|dash|python[23]?|perl|ruby|php|node|lua|ping|nslookup"
    r"|dig|host|traceroute|echo|printf|rm|touch|chmod|chown|chgrp|kill|killall|pkill|sleep"
    r"|ifconfig|ipconfig|ip|netstat|ss|ps|top|type|systeminfo|cmd|powershell|pwsh|certutil"
    r"|bitsadmin|reg|sc|tasklist|taskkill|xterm|ssh|scp|ftp|tftp|nmap|base64|env|printenv"
    r"|export|expr|head|tail|more|less|awk|gawk|sed|grep|egrep|xargs|passwd|useradd|usermod"
    r"|crontab|mkfifo|mknod|gcc|shutdown|reboot|halt|mail|sendmail|net|netsh|wmic|find"
    r"|locate|which|whereis|uptime|w|who|last|df|du|mount|sudo|su|vi|vim|nano|eval|exec"
    r"|source|unset|set|alias|time|timeout|nohup|java|javac|jrunscript|msiexec|rundll32"
    r"|regsvr32|mshta|cscript|wscript|start|call|copy|del|move|ren|md|rd|attrib|icacls"
    r"|cacls|net1|at|schtasks|query|route|arp|openssl|tar|zip|unzip|gzip|dd|od|xxd|hexdump"
    r"|strings|file|stat|getent|groups|lsof|fuser|chattr|lsattr|busybox|tclsh|wish)"
)
"""The command words the command-injection rules look for after a separator (a regex group)."""

_DOT = (
    r"(?:\.|%(?:25)*2e|%c0%ae|%c0%2e|%e0%80%ae|%f0%80%80%ae|%f8%80%80%80%ae|%fc%80%80%80%80%ae"
    r"|%u(?:ff0e|002e)|0x2e|x2e|%c0%[ef]e|%c0%6e|\?)"
)
_SEP = (
    r"(?:/|\\|%(?:25)*(?:2f|5c)|%c0%(?:af|qf|9v|5c)|%c1%(?:9c|pc|8s|1c|af)|%e0%80%af"
    r"|%u(?:2215|2216|efc8|f025|002f|005c)|0x(?:2f|5c)|%%3[25]%%6[36]|%01[/\\]?)"
)
_COMMAND_LINE_START = r"^\s*[<^]?\s*"
"""A value that starts as a command line, also behind an input redirection (``<cat …``) or a
Windows ``cmd`` caret escape (``^cat …``), which leave the command to run."""
_BROKEN_OUT_COMMAND = r"^\s*(?:[<^]\s*['\"]?|['\"])\s*"
"""A value that starts as a command line behind a breakout: a quote closing the argument it
lands in, or an input redirection or caret escape (see :data:`_COMMAND_LINE_START`)."""
_SQL_COMPARATOR = r"(?:=|<>|!=|<=>|>=?|<=?|\blike\b|\brlike\b|\bregexp\b|\bis\b|\bbetween\b|\bin\b)"
_SENSITIVE_UNIX = (
    r"/(?:etc/(?:passwd|shadow|group|hosts|issue|motd|hostname|crontab|sudoers|master\.passwd"
    r"|security/|httpd/|apache2?/|nginx/|mysql/|php\d*/|ssh/|fstab|inittab|resolv\.conf"
    r"|profile|bashrc|environment|gshadow|aliases|exports|ld\.so|redhat-release|lsb-release"
    r"|os-release|init\.d/|rc\.d/|pam\.d/|network|apt/|yum|cron)"
    r"|proc/(?:self|\d+|version|cpuinfo|meminfo|net/|sched_debug|mounts)"
    r"|var/(?:log|www|lib|mail|spool|run|adm|backups)/|root/|home/\w+/\.|usr/local/|opt/|tmp/"
    r"|run/secrets/"
    r"|dev/(?:tcp|udp|shm|null|stdin|fd)|sys/|boot/|bin/|sbin/|usr/(?:bin|sbin|lib|share)/)"
)
_PATH_START = r"(?:^\s*|[=:'\"(,;|&>]\s*|file://)"
"""Where an absolute path counts as the value's target: at its start, after a parameter or list
boundary, a quote, a shell operator or ``file://``. Prose naming a path ("logs are in /var/log/…")
puts it after a word and a space, which is not one of these."""
_SENSITIVE_FILES = (
    r"(?:boot\.ini|win\.ini|system\.ini|php\.ini|my\.cnf|my\.ini|httpd\.conf|nginx\.conf"
    r"|web\.config|web\.xml|\.htaccess|\.htpasswd|wp-config\.php|config\.php|configuration\.php"
    r"|settings\.py|\.env|id_rsa|id_dsa|authorized_keys|known_hosts|\.bash_history"
    r"|\.mysql_history|\.git/|\.svn/|[/\\]sam\b|system32|autoexec\.bat|applicationhost\.config"
    r"|access\.log|error\.log|access_log|error_log|environ|cmdline|shadow|passwd)"
)

# Where a server script hands something to the system or the interpreter.
_SCRIPT_SINK = (
    r"(?:`|\b(?:system|exec|shell_exec|passthru|popen|proc_open|pcntl_exec|eval|assert|execute"
    r"|create_function|call_user_func(?:_array)?|include(?:_once)?|require(?:_once)?|start"
    r"|processbuilder)\b)"
)
# Where a server script reads what a request sent: PHP's superglobals, a JSP request's
# parameters, classic ASP's and ASP.NET's Request collections.
_REQUEST_INPUT = (
    r"(?:\$_(?:get|post|request|cookie|files)\b|\$_server\s*\[\s*['\"]http_|php://input"
    r"|\bgetallheaders\s*\(|\brequest\s*\.\s*get(?:parameter|header|inputstream|reader)\s*\("
    r"|\brequest\s*(?:\.\s*(?:form|querystring|item|params|headers|cookies)\s*)?[(\[]\s*['\"]"
    r"|\brequest\s*\.\s*(?:form|querystring)\b)"
)

RULES: tuple[Rule, ...] = (
    # ----------------------------------------------------------------- SQL injection
    Rule("sqli-union-select", "sqli",
         # MySQL also reads a UNION glued to a number or to \N (NULL): 1union, .1union, \Nunion.
         r"(?:\b|\d|\\n)union\b[\s(]*(?:all|distinct)?[\s(]*select\b", 0.95, "UNION SELECT"),
    Rule("sqli-quote-boolean", "sqli",
         r"['\"`]\s*\)*\s*(?:\b(?:or|and|xor|div)\b|\|\||&&)\s*\(*\s*(?:not\s+)?['\"]?[\w.@$-]*['\"]?\s*"
         + _SQL_COMPARATOR,
         0.9, "quote breaks out into a boolean comparison", confirm="quote_breaks_out",
         cue=r"['\"`]\s*\)*\s*(?:\b(?:or|and|xor|div)\b|\|\||&&)"),
    Rule("sqli-quote-bool-literal", "sqli",
         r"['\"`]\s*\)*\s*(?:\bor\b|\|\|)\s*\(*\s*(?:true|false|not\s+false|\d+|null)\b\s*\)*\s*"
         r"(?:--|#|/\*|;|$|['\"]|\bor\b|\band\b)",
         0.85, "quote breaks out into OR TRUE"),
    Rule("sqli-numeric-tautology", "sqli",
         r"\b(?:or|and|xor|having|where)\s+\(*\s*(?:\d+|'[^']{0,20}'|\"[^\"]{0,20}\")\s*\)*\s*"
         r"(?:=|<>|!=|<=>|>|<|\blike\b)\s*\(*\s*(?:\d+|'[^']{0,20}'?|\"[^\"]{0,20}\"?)",
         0.75, "boolean operator before a constant comparison", confirm="constant_comparison",
         cue=r"(?:[=<>]|\blike\b)\s*\(*\s*[\d'\"]"),
    Rule("sqli-quote-comment", "sqli",
         r"['\"`]\s*\)*\s*(?:--[\s+-]*\w{0,8}\s*$|#\s*$|/\*|;\s*(?:--|#|%00|\x00))", 0.55,
         "quote closed then comment or terminator",
         cue=r"(?:--[\s+-]*\w{0,8}\s*$|#\s*$|/\*|;\s*(?:--|#|%00|\x00))"),
    Rule("sqli-quote-keyword", "sqli",
         r"(?:^|[\w)])['\"`]\s*\)*\s*;?\s*(?:union\s+(?:all\s+)?select|select\s+(?:\*|@@|null"
         r"|\d|\w+\s*\(|[\w.,\s]{1,80}\bfrom\b)|insert\s+into|update\s+\w+\s+set|delete\s+from"
         r"|drop\s+(?:table|database)|exec(?:ute)?\s+\w|declare\s+@|waitfor\s+delay|having\s+\d"
         r"|group\s+by\s|order\s+by\s|procedure\s+analyse|into\s+(?:out|dump)file)",
         0.7, "quote closed then SQL clause", confirm="query_breaks_out"),
    Rule("sqli-stacked-query", "sqli",
         r";\s*\b(?:select\b.{0,200}\bfrom|insert\s+into|update\s+\w+\s+set|delete\s+from"
         r"|drop\s+(?:table|database|schema|user|view|procedure|function)|truncate\s+table"
         r"|alter\s+(?:table|user|database)|create\s+(?:table|user|database|procedure|function)"
         r"|exec(?:ute)?\s+|declare\s+[@\w]|shutdown|waitfor\s|grant\s|revoke\s"
         r"|rename\s+(?:table|user|database|column|to)\b"
         r"|load_file|select\s+(?:sleep|pg_sleep|benchmark|@@|\w+\s*\())",
         0.9, "stacked query"),
    Rule("sqli-copy-program", "sqli",
         # PostgreSQL's COPY … TO PROGRAM and H2's CREATE ALIAS run a command from SQL: the
         # query is the container that carries it (CONTAINER_RULES).
         r"\bcopy\s*\([^)]{0,200}\)\s*to\s+program\b|\bcopy\s+\w+\s+(?:from|to)\s+program\b"
         r"|\bcreate\s+alias\s+\w+\s+as\s+['\"$]",
         0.9, "SQL statement running a program"),
    Rule("sqli-time-based", "sqli",
         r"\b(?:pg_sleep|benchmark|sys\.dbms_lock\.sleep|dbms_lock\.sleep)\s*\(\s*[\w'\"(@]"
         r"|\bwaitfor\s+(?:delay|time)\s+['\"\d]|\bdbms_pipe\.receive_message\s*\("
         r"|\brandomblob\s*\(|\bgenerate_series\s*\(|(?:^|\bor|\band|\blike|select|[;,'\"(=|])\s*sleep\s*\(\s*[\w'\"(@]",
         0.85, "time-based blind SQL"),
    Rule("sqli-fingerprint-function", "sqli",
         r"\b(?:(?:extractvalue|updatexml|load_file|group_concat|concat_ws|make_set|elt"
         r"|name_const|utl_inaddr\.\w+|utl_http\.\w+|dbms_xmlgen\.\w+|ctxsys\.drithsx\.\w+"
         r"|sys_context|xp_cmdshell|xp_regread|xp_dirtree|sp_executesql|sp_oacreate|sp_makewebtask"
         r"|openrowset|opendatasource|pg_read_file|pg_ls_dir|lo_import|sqlite_version)\s*\("
         r"|exp\s*\(\s*~|floor\s*\(\s*rand|xp_cmdshell|ascii\s*\(\s*substr|substring\s*\(\s*\(?\s*select"
         r"|mid\s*\(\s*\(?\s*select|ord\s*\(\s*mid|hex\s*\(\s*\(?\s*select|iif\s*\(\s*\d"
         r"|if\s*\(\s*\(?\s*\d+\s*[=<>]|regexp_substring|cast\s*\(\s*\(?\s*select"
         r"|convert\s*\(\s*int\s*,|\bchr\s*\(\s*\d+\s*\)\s*(?:\|\||\+))",
         0.8, "SQL function used for fingerprinting or extraction"),
    Rule("sqli-catalog", "sqli",
         r"\b(?:information_schema|sysobjects|syscolumns|sysusers|sys\.tables|sys\.objects"
         r"|mysql\.user|pg_catalog|pg_shadow|pg_user|sqlite_master|all_tables|user_tables"
         r"|msysobjects|master\.\.sys|master\.dbo)\b|@@(?:version|datadir|hostname|servername"
         r"|basedir|tmpdir)\b|\b(?:version|database|user|current_user|system_user|session_user)"
         r"\s*\(\s*\)\s*(?:--|#|,|\)|=)",
         0.85, "system catalog or server variable"),
    Rule("sqli-char-concat", "sqli",
         r"\b(?:char|nchar|chr)\s*\(\s*\d+\s*(?:,\s*\d+\s*){2,}\)|(?:char|chr)\s*\(\s*\d+\s*\)"
         r"\s*(?:\+|\|\||,)\s*(?:char|chr)\s*\(|\b0x[0-9a-f]{8,}\b.{0,40}\b(?:from|where|union|"
         r"select|into)\b"
         # A hex literal that spells text (0x61646d696e is 'admin'), not an address or a size
         # an option sets (--change-section-vma .splash=0x100000).
         r"|\b(?:from|where|union|select|into|like|=)\s*0x(?:[2-7][0-9a-f]){3,}\b",
         0.75, "CHAR()/hex literal string building"),
    Rule("sqli-select-from", "sqli",
         r"\bselect\b\s*(?:\*|(?:distinct\s+|top\s+\d+\s+)?[\w.@`\"\[\]]+\s*(?:\(\s*[\w*.,\s]*\))?"
         r"\s*(?:,\s*[\w.@`\"\[\]()*]+\s*){0,20})\s*\bfrom\s+[\w.`\"\[\]]+\s*(?:\bwhere\b|--|#|;|$|\)"
         r"|\blimit\b|\border\b|\bgroup\b|\bunion\b)",
         0.7, "SELECT … FROM statement", confirm="statement_breaks_out"),
    Rule("sqli-dml", "sqli",
         r"\binsert\s+into\s+[\w.`\"\[\]]+\s*(?:\([^)]{0,200}\)\s*)?(?:values|select)\b"
         r"|\bupdate\s+[\w.`\"\[\]]+\s+set\s+[\w.`\"]+\s*=\s*['\"\d(@]"
         r"|\bdelete\s+from\s+[\w.`\"\[\]]+\s*(?:where|;|--|#|$)"
         r"|\bdrop\s+(?:table|database|schema|procedure|function|view)\s+(?:if\s+exists\s+)?"
         r"[\w.`\"\[\]]+\s*(?:;|--|#|$)|\btruncate\s+table\s+\w"
         r"|\bexec(?:ute)?\s+(?:master\.|xp_|sp_|\(\s*['\"@]|immediate\b)",
         0.8, "data-changing SQL statement", confirm="statement_breaks_out"),
    Rule("sqli-order-by-probe", "sqli",
         r"\border\s+by\s+\d+\s*(?:--|#|/\*|;|$)|(?:['\"`)]|\d)\s*\border\s+by\s+\d+\s*[,)]"
         r"|\bgroup\s+by\s+[\w.]+\s+having\s+\d|\bprocedure\s+analyse\s*\(",
         0.8, "ORDER BY / GROUP BY column probe"),
    Rule("sqli-bool-blind", "sqli",
         r"\b(?:and|or)\s+\(*\s*(?:select|ascii|substring|substr|length|exists|mid|ord|count)"
         r"\s*\(", 0.8, "boolean blind sub-query",
         cue=r"(?:select|ascii|substring|substr|length|exists|mid|ord|count)\s*\("),
    Rule("sqli-comparison-comment", "sqli",
         r"\b(?:or|and|having|where)\s+[^\n]{0,40}(?:=|<|>|\blike\b)[^\n]{0,40}(?:--[\s+-]*$"
         r"|--\s|#\s*$|/\*|;\s*--)", 0.8, "boolean comparison then SQL comment",
         cue=r"(?:--[\s+-]*$|--\s|#\s*$|/\*|;\s*--)"),
    Rule("sqli-subquery", "sqli",
         r"\(\s*select\s+(?:top\s+\d|\*|count\s*\(|@@|\w+\s*\(|null\b|\d)"
         r"|\b(?:or|and)\s+[\w'\"]*\s*(?:=|<|>)\s*\(\s*select\b", 0.75, "sub-query",
         cue=r"\(\s*select\b"),
    Rule("sqli-string-probe", "sqli",
         r"^\s*['\"`][\s)]*(?:[-+*/|&^=<>%]|\|\||&&|or|and)+[\s(]*['\"`]\s*$", 0.6,
         "quote-operator-quote probe"),
    Rule("sqli-declare", "sqli",
         r"\bdeclare\s+@\w+\s+(?:n?(?:var)?char|int|sysname|table|cursor)\b|\bexec\s*\(\s*@\w"
         r"|\bbegin\s+(?:dbms|user_lock)\w*\.\w+\s*\(|;\s*(?:desc|describe|show\s+(?:tables"
         r"|databases|columns))\b", 0.85, "T-SQL/PL-SQL block"),
    Rule("sqli-case-when", "sqli",
         r"\bcase\s+when\s+.{1,120}\bthen\b.{1,120}\belse\b|\bwhen\s+\(?\s*\d+\s*=\s*\d+\s*\)?\s*then\b",
         0.7, "CASE WHEN conditional", confirm="query_breaks_out"),
    # ----------------------------------------------------------------- XSS
    Rule("xss-script-tag", "xss",
         r"<\s*/?\s*script\b|<\s*script[\s/>]|\bscript\s*>|\xc2\xbc\s*/?\s*script", 0.95,
         "script tag", confirm="script_tag_runs"),
    Rule("xss-event-handler", "xss",
         r"<\s*[a-z!][\w:-]*[^>]*?[\s/\"'`;]on[a-z]{3,}[^a-z0-9\s=>]{0,40}\s*=", 0.92,
         "event-handler attribute in a tag", confirm="handler_runs"),
    Rule("xss-handler-call", "xss",
         r"\bon[a-z]{3,}\s*=\s*['\"`]?\s*(?:alert|prompt|confirm|eval|javascript:|document\.|window\."
         r"|location|top\[|self\[|\[|\(|[\w.$]{1,40}\s*[(`])", 0.8, "event handler running code"),
    Rule("xss-quote-call", "xss",
         r"['\"`]\s*[;)+,-]+\s*(?:alert|prompt|confirm|eval|settimeout|fetch)\s*[(`]", 0.85,
         "string breakout into a script call"),
    Rule("xss-attr-breakout", "xss",
         r"['\"`]\s*/?\s*\bon[a-z]{3,}\s*=\s*['\"`]?[\w$.\[(]", 0.75,
         "quote breaks out into an event handler"),
    Rule("xss-js-url", "xss",
         r"\b(?:j\s*a\s*v\s*a|v\s*b|l\s*i\s*v\s*e)\s*s\s*c\s*r\s*i\s*p\s*t\s*:[^\s]", 0.85,
         "javascript:/vbscript: URL",
         cue=r"p\s*t\s*:[^\s]"),
    Rule("xss-frame-tag", "xss",
         r"<\s*/?\s*(?:iframe|frame|frameset)\b", 0.7, "a frame loading another page",
         confirm="frame_loads_foreign"),
    Rule("xss-dangerous-tag", "xss",
         r"<\s*/?\s*(?:object|embed|applet|svg|math|meta|base|style"
         r"|xss|xml|isindex|bgsound|layer|ilayer|import|marquee|template|portal|xmp|plaintext"
         r"|noscript|animate|set|handler|listener|vmlframe)\b"
         # The made-up <x> of payload lists only as a tag: "<< x" streams to a C++ output, and
         # <x-alert> is a Blade component.
         r"|</?x(?:[\s/>]|$)"
         # An HTML link has attributes; <link>…</link> is the element of an RSS or Atom feed.
         r"|<\s*link[\s/]+[a-z]", 0.7, "active-content tag",
         confirm="markup_active"),
    Rule("xss-data-uri", "xss",
         r"(?:src|href|data|action|formaction|background|xlink:href|poster|srcdoc)\s*=\s*['\"]?\s*"
         r"(?:data\s*:\s*(?:text/html|image/svg|application/(?:x-)?(?:javascript|xhtml))"
         r"|javascript\s*:|vbscript\s*:)|\bdata\s*:\s*text/html\s*[;,]", 0.85,
         "script-bearing URI"),
    Rule("xss-js-sink", "xss",
         r"document\s*\.\s*(?:cookie|domain|write|location|body\.innerhtml)\b"
         r"|\bwindow\s*\.\s*(?:location|open\s*\(|name\b)|\.\s*innerhtml\s*=|\bstring\s*\.\s*"
         r"fromcharcode\s*\(|\blocation\s*\.\s*(?:href|hash|search)\b\s*=?|\bself\s*\[\s*['\"]"
         r"|\btop\s*\[\s*['\"]|\bparent\s*\[\s*['\"]|\bconstructor\s*\.\s*constructor\s*\(",
         0.8, "JavaScript DOM sink", confirm="sink_in_code"),
    Rule("xss-js-call", "xss",
         r"\b(?:alert|prompt|confirm|eval|settimeout|setinterval|atob|fetch|importscripts)"
         r"\s*(?:\(|`|\.call\s*\(|\.apply\s*\()", 0.45, "JavaScript call often used in XSS"),
    Rule("xss-breakout-call", "xss",
         r"['\"]\s*\)?\s*;[^\n]{0,80}\b(?:alert|prompt|confirm)\s*[(`]|=\s*['\"]?\s*&\{[^}]{0,80}\(",
         0.8, "string breakout followed by a script call"),
    Rule("xss-template-call", "xss",
         # A template expression or template literal calling the browser's dialogs or reading
         # its cookie runs in the browser (an AngularJS sandbox escape, a JavaScript template
         # literal): client-side template injection is cross-site scripting, and no server's
         # template engine has an alert() to call. A quoted <script> in braces is the template
         # rendering markup unescaped, left to the template rules.
         r"(?:\{\{|\$\{)[^}<]{0,200}\b(?:alert|prompt|confirm)\s*(?:\(|`|\\x28|\\u0028|&#40;)"
         r"|(?:\{\{|\$\{)[^}<]{0,200}\bdocument\s*\.\s*(?:cookie|domain)\b",
         0.8, "template expression calling the browser"),
    Rule("xss-css-expression", "xss",
         r"[:=]\s*expression\s*\(|-moz-binding\s*:|\bbehavior\s*:\s*url|@import\s+['\"]?"
         r"(?:javascript|data|https?:)|url\s*\(\s*['\"]?\s*(?:javascript|vbscript|data)\s*:",
         0.8, "script in CSS"),
    Rule("xss-tag-open", "xss",
         r"<\s*(?:img|image|video|audio|source|body|input|button|select|textarea|keygen|form"
         r"|details|a|div|table|td|svg|html|span|p|br|hr|iframe|object|embed|marquee|style)"
         r"\b[^>]*(?:src|href|style|action|data|dynsrc|lowsrc)\s*=\s*['\"]?\s*[`&]",
         0.6, "tag attribute with entity or template-quoted value"),
    Rule("xss-angle-breakout", "xss",
         r"['\"`]\s*>\s*<\s*[a-z/!]", 0.55, "attribute breakout into a new tag",
         confirm="attribute_breakout"),
    # ----------------------------------------------------------------- command injection
    Rule("cmdi-separator-command", "cmdi",
         r"(?:[;&|`\n\r]|\\n|\$\(|\|\||&&)\s*(?:[\w./-]*/)?" + SHELL_COMMANDS
         # Debian names its netcats nc.traditional and nc.openbsd.
         + r"(?:\.exe|\.traditional|\.openbsd)?"
         r"(?:\s*$|\s*[|;&`)<>#\r\n]|\s+[-/$%.~\d\"'\\*]|\s+[a-z]:|[\\/]"
         # The end of the string the command closes (a JSON value: {"host": "x\nid"}).
         + r"|[\"']\s*(?:$|[,}\]])"
         # A URL or a host name as the argument (curl http://…, nslookup attacker.example).
         + r"|\s+(?:[a-z][a-z0-9+.-]*://|[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b))",
         0.85, "shell separator before a command", confirm="separator_command_runs"),
    Rule("cmdi-command-substitution", "cmdi",
         r"\$\(\s*(?:[\w./-]*/)?" + SHELL_COMMANDS + r"\b"
         # After a separator, any substitution runs: ;$(rev<<<'imaohw')
         r"|[;&|\n]\s*\$\(\s*[a-z]|[<>]\(\s*(?:[\w./-]*/)?" + SHELL_COMMANDS + r"\b", 0.9,
         "command or process substitution",
         confirm="outside_prose_code_span"),
    Rule("cmdi-backtick-substitution", "cmdi",
         r"`\s*(?:[\w./-]*/)?" + SHELL_COMMANDS + r"(?:\s[^`]*)?`"
         # A compound command that runs one: `if (id) then :; fi`, `case a in (a) id;; esac`,
         # `! rm …`, `( rm … )`, `{ rm …; }`.
         r"|`\s*(?:(?:if|while|until|case|for|time|coproc)\s|!|\(|\{\s)(?:[^`]{0,200}?[\s(;|&!{])?"
         r"\s*(?:[\w./-]*/)?" + SHELL_COMMANDS + r"\b[^`]*`", 0.9,
         "backtick command substitution", confirm="unix_backtick"),
    Rule("cmdi-shell-path", "cmdi",
         r"/(?:usr/)?(?:local/)?s?bin/(?:ba|z|k|c|tc|da|fi)?sh\b|/(?:usr/)?s?bin/(?:nc|netcat|ncat|"
         r"perl|python\d?|ruby|php|wget|curl|id|cat|ls|uname|whoami|echo|ping|telnet|socat)"
         r"(?:\s|$|[;|&'\"`)])"
         r"|\bcmd(?:\.exe)?\s*/[ck]\b|\bpowershell(?:\.exe)?\s+-|\b(?:nc|ncat|netcat)(?:\.exe)?\s"
         r"[^;&|\n]{0,100}?\s-[ec]\s|/dev/(?:tcp|udp)/|\bmkfifo\s+/|\b(?:bash|sh)\s+-[ci]\b",
         0.9, "shell binary or reverse shell", confirm="shell_path_runs"),
    # A program named by a wildcard path (/???/??t, /b?n/c?t /e??/p?ss??): the shell expands it
    # to the real binary, and the name no longer matches any command word. A first directory
    # of at most seven characters spelled with "?" is a glob, not a URL path or a sentence.
    # Scored to stand alone even when the model reads the value as benign: the wildcard
    # spelling exists to look like nothing, and the model has no word to go on.
    Rule("cmdi-glob-path", "cmdi",
         r"(?:^|[\s;|&`'\"(=<>])/\w{0,3}\?[\w?]{0,3}/(?:[\w?*.-]{1,16}/){0,3}[\w.-]{0,12}[?*]",
         0.92, "program named by a wildcard path"),
    Rule("cmdi-shellshock", "cmdi", r"\(\s*\)\s*\{\s*[^}]{0,20};?\s*\}\s*;", 0.95, "Shellshock",
         cue=r"\(\s*\)\s*\{"),
    Rule("cmdi-code-exec", "cmdi",
         # PHP's functions, called bare: a method of that name (regex.exec(…), $pdo->exec(…)) is
         # another thing, and the languages whose methods run commands have their own rule. A
         # file function with a plain literal names the program's own file (require('fs')).
         r"(?:^|[^.\w>:$])(?:system|exec|shell_exec|passthru|popen|proc_open|pcntl_exec|assert"
         r"|create_function|call_user_func(?:_array)?|preg_replace|include|require(?:_once)?"
         r"|file_get_contents|fopen|readfile|highlight_file|show_source|phpinfo)\s*\(\s*(?:\$_"
         r"|\$\w|base64_decode|str_rot13|gzinflate)"
         r"|(?:^|[^.\w>:$])(?:system|exec|shell_exec|passthru|popen|proc_open|pcntl_exec|assert"
         r"|create_function|call_user_func(?:_array)?|preg_replace|phpinfo)\s*\(\s*['\"][^'\"]{0,80}"
         r"['\"]\s*\)\s*;"
         r"|(?:^|[^.\w>:$])(?:include|require(?:_once)?|file_get_contents|fopen|readfile"
         r"|highlight_file|show_source)\s*\(\s*['\"](?:[/\\]|[a-z]:|[^'\"]{0,80}(?:\.\.|://))"
         r"|\beval\s*\(\s*(?:\$_|base64_decode|gzinflate|str_rot13|request|atob|['\"])",
         0.85, "server-side code execution"),
    Rule("cmdi-exec-shell-string", "cmdi",
         r"(?:^|[^.\w])(?:system|exec|shell_exec|passthru|popen|proc_open|spawn|execsync)\s*\(\s*"
         r"['\"`]\s*(?:[\w./-]*/)?" + SHELL_COMMANDS + r"\b", 0.85,
         "shell command passed to an exec function"),
    Rule("cmdi-lang-exec", "cmdi",
         r"\b(?:kernel\s*\.\s*(?:exec|system|spawn|exit|open|fork)|io\s*\.\s*popen|%x\s*[{(\[]"
         r"|runtime\s*\.\s*getruntime\s*\(\s*\)\s*\.\s*exec|processbuilder\s*\(|__import__\s*\("
         r"\s*['\"](?:os|subprocess|pty|socket)|\bos\s*\.\s*(?:system|popen|exec\w*|spawn\w*)\s*\(\s*['\"]"
         r"|(?:perl|ruby|python\d?|php|node|"
         r"lua)\s+-[a-z]*[er]\s+['\"]|require\s*\(\s*['\"]child_process|child_process"
         r"|\bsystem\s*\(\s*['\"`][^'\"`]{1,100}['\"`]\s*\))",
         0.85, "interpreter code execution"),
    Rule("cmdi-argument-injection", "cmdi",
         # Options smuggled into a command's argument list that run or write a program: tar's
         # checkpoint action and compressor, sendmail's log file, an output file (curl -o,
         # wget -O, find -fprintf) that is a server script at an absolute path.
         r"(?:^|\s)--checkpoint-action\s*=\s*exec\s*=|(?:^|\s)--use-compress-program\s*=?\s*['\"]?\w"
         # git's helper programs given a quoted command line (--upload-pack='touch /tmp/x').
         r"|(?:^|\s)--(?:upload-pack|receive-pack|exec)\s*=\s*['\"][^'\"\s]+\s[^'\"]*['\"]"
         r"|(?:^|\s)-o\s*q\s*\S*\s+-x\s*/|(?:^|[\s\"'])(?:-o|-x|--output(?:-document)?|-fprintf)"
         r"\s*=?\s*/[^\s:]{0,200}\.(?:php\d?|phtml|phar|jspx?|aspx?|ashx)\b",
         0.85, "option injected into a command's arguments"),
    Rule("cmdi-windows", "cmdi",
         r"%(?:systemroot|windir|comspec|programfiles|userprofile|temp|appdata|computername"
         r"|username)%(?:$|[^\\/\w.])|\b(?:type|more|copy|dir|cd|echo|start|call)\s+%\w+%"
         r"|\bnet\s+(?:user|localgroup|view|share|use|group|accounts|session|start|stop)\b|\bnetsh\s+(?:firewall|advfirewall|interface|wlan)|\breg\s+(?:add|query|delete"
         r"|save|export)\s|\bwmic\s+\w|\bcertutil\s+-|\bbitsadmin\s+/|\bschtasks\s+/|\bvssadmin\b"
         # A quote closed and a program run after cmd's separator (x" & calc.exe & ").
         r"|['\"]\s*(?:&&?|\|\|?)\s*[\w.-]+\.(?:exe|bat|cmd|com|ps1|vbs)\b",
         0.85, "Windows command (a %VAR% alone or as an argument; a %VAR%\\ path is a path)"),
    Rule("cmdi-powershell", "cmdi",
         # PowerShell running text or a download: the call operator on a built string, IEX,
         # a web client, base64 decoding, characters of $PSHome or $ShellId spelling iex.
         r"(?:^|[;&|(`{]\s*)\.?\s*(?:iex|invoke-expression|invoke-command|invoke-webrequest"
         r"|start-process)\b|\|\s*iex\b|new-object\s+(?:system\.)?net\.webclient"
         r"|\.downloadstring\s*\(|::frombase64string\s*\(|[&.]\s*\(\s*['\"][\w-]*['\"]\s*\+"
         r"|\$(?:pshome|shellid|env:comspec)\[\d+\]", 0.85, "PowerShell running built text"),
    Rule("cmdi-argument-injection", "cmdi",
         # A value that is an option of the program it is passed to, one that runs a command
         # (tar, git, ssh, rsync, zip, curl, find, ghostscript).
         r"^\s*(?:--(?:to-command|checkpoint-action|upload-pack|receive-pack|use-compress-program"
         r"|rsh|post-file|upload-file|unzip-command|output-document)\b|-o\s*['\"]?(?:local|proxy)"
         r"command\s*=|-exec\s+\S|--?exec=|%pipe%|-t\s*-te?\b)", 0.85,
         "command-running option passed as the value"),
    Rule("cmdi-glob-path", "cmdi",
         # A program in a bin directory named through a glob class: /usr/bin/[w]ho[a]mi.
         r"/(?:usr/)?(?:local/)?s?bin/[\w?*]*\[[\w-]+\]", 0.85, "program named by a glob"),
    Rule("cmdi-windows-obfuscation", "cmdi",
         # cmd substrings of variables (%windir:~0,1% is "C") and for /f over a command's output.
         r"%\w+:~-?\d+(?:,-?\d+)?%|\bfor\s+/f\b[^\n]{0,80}\bin\s*\(\s*['\"`]", 0.85,
         "cmd variable substring or for /f over a command"),
    Rule("cmdi-ssi", "cmdi",
         r"<!--\s*#\s*(?:exec|include|echo|config|printenv|set|fsize|flastmod)\b", 0.9,
         "server-side include"),
    Rule("cmdi-fetch-pipe-shell", "cmdi",
         # A separator, then a download piped straight into a shell: a dropper injected
         # whatever text surrounds it (an install guide writes the download on a line of its
         # own).
         r"(?:[;&|`]|\$\()\s*(?:curl|wget|fetch)\b[^|;&\n]{0,300}\|\s*(?:sudo\s+)?(?:ba|z|da|k)?sh\b",
         0.9, "a download piped into a shell after a separator", confirm="fetch_runs"),
    Rule("cmdi-fetch-exec", "cmdi",
         # An option's argument may be quoted with blanks in it (-H 'Accept: text/html').
         r"\b(?:wget|curl|fetch|lwp-download|tftp)\s+"
         r"(?:-[\w-]+(?:=(?:'[^'\n]{0,200}'|\"[^\"\n]{0,200}\"|\S+))?\s+"
         r"(?:(?:'[^'\n]{0,200}'|\"[^\"\n]{0,200}\"|\S+)\s+)?)*"
         r"(?:https?|ftp|tftp)://|\|\s*(?:ba|z)?sh\b|>\s*/(?:tmp|dev/shm|var/tmp)/|\b2>&1\b"
         # A download written straight to a world-writable directory (-o /tmp/x, -O /dev/shm/y).
         r"|\b(?:wget|curl)\s[^\n]{0,300}?\s(?:-[oO]|--output(?:-document)?)[\s=]*"
         r"/(?:tmp|dev/shm|var/tmp)/"
         r"|>\s*/dev/null|\bchmod\s+(?:\+x|[0-7]{3,4})\s",
         0.8, "download-and-run or redirection", confirm="fetch_runs"),
    Rule("cmdi-command-line", "cmdi",
         # A command with options and a path, or a reader of an absolute path, counts only
         # behind a breakout (a quote, an input redirection, a caret): written bare, it is what
         # documentation and support threads show ("du -sh * | sort -h", "ssh -i ~/.ssh/key").
         # Bare, a reader counts on a system file.
         _BROKEN_OUT_COMMAND + SHELL_COMMANDS
         + r"(?:\.exe)?\s+(?:-{1,2}[a-z][\w-]*\s+)+(?:[/\\~*.\d$]|[a-z]:)|" + _BROKEN_OUT_COMMAND
         + r"(?:cat|more|less|head|tail|type|nl|tac|strings|od|xxd|dir|ls|copy|del|rm)"
         r"\s+(?:[a-z]:)?[/\\]\w|" + _COMMAND_LINE_START
         + r"(?:cat|more|less|head|tail|type|nl|tac|strings|od|xxd)\s+(?:" + _SENSITIVE_UNIX
         + r"|(?:[a-z]:)?[/\\](?:[\w.-]+[/\\]){0,3}" + _SENSITIVE_FILES + r")|"
         + _COMMAND_LINE_START
         + r"(?:cat|more|less|type|dir|ls|id|whoami|uname|ifconfig|ipconfig"
         r"|netstat|ps|pwd|hostname|ping)(?:\.exe)?\s*[|;&]|^\s*dir\s+[a-z]:"
         r"|(?:^\s*[<^]?\s*['\"`]|^\s*[<^]|[;|&])\s*(?:whoami|uname|ifconfig|ipconfig|sysinfo"
         r"|systeminfo|netstat"
         r"|nslookup|netcat|ncat|useradd|crontab|mkfifo|certutil|bitsadmin|powershell|wmic"
         # An option is a dash and a name: "mkfifo - make FIFOs" is a manual's NAME line.
         r"|phpversion\s*\(\s*\)|getenforce|id\s*;)\s*(?:$|['\"`;|&]|\s+(?:-[\w-]|/))"
         # Bare, only the commands that do nothing but report on the host to whoever runs them,
         # and a timed ping of the host itself (a blind injection's clock).
         r"|^\s*(?:whoami|sysinfo|systeminfo|getenforce|phpversion\s*\(\s*\)|id\s*;)"
         r"\s*(?:$|['\"`;|&]|\s+(?:-[\w-]|/))"
         r"|^\s*ping(?:\.exe)?\s+(?:-{1,2}[a-z0-9][\w-]*(?:\s*\d+)?\s+)*-[a-z]\s*\d+\s+"
         r"(?:-{1,2}[a-z0-9][\w-]*(?:\s*\d+)?\s+)*"
         r"(?:127(?:\.\d{1,3}){0,3}|0x7f[0-9a-f]{0,6}|0(?:\.0){0,3}|localhost|::1)(?:\s|$)",
         0.82,
         "value is a shell command line", confirm="command_line_runs"),
    Rule("cmdi-variable-command", "cmdi",
         # Only the name's last character before '=': a leading [a-z_]\w{0,30} after any space
         # made Hyperscan track a candidate at every word of prose (10 KB: 30 -> 240 us).
         r"\w=\s*\$?['\"]?\s*" + SHELL_COMMANDS
         + r"\b[^;&|\n'\"]{0,60}['\"]?\s*(?:;|\n|&&?|\|\|?)\s*\$\{?[a-z_]\w{0,30}\}?"
         r"(?:\s|$|[;&|`)])"
         # A command word spelled by two or more variables where a command starts
         # (a=who;b=ami;$a$b).
         r"|(?:^|[;&|\n`]|\$\()\s*(?:\$\{?[a-z_]\w{0,30}\}?){2,}(?:\s|$|[;&|`)])", 0.85,
         "a command stored in variables, then run by expanding them (CMD=$'id';$CMD)"),
    Rule("cmdi-php-complex-syntax", "cmdi",
         r"\{\$\{[^}]{0,100}\(|\$\{@\w+\s*\(", 0.92,
         "PHP complex-syntax variable running a function"),
    Rule("cmdi-caret-split", "cmdi",
         # cmd.exe drops a caret before an ordinary character: w^h^o^a^m^i runs whoami.
         # One caret is enough in a word that reads a command once they are gone (c^md).
         r"(?:^|[;&|]\s*)\^?[a-z]*(?:[a-z]\^+)+[a-z]+", 0.9,
         "command word split by cmd carets", confirm="caret_word_is_command"),
    Rule("cmdi-pipe-command", "cmdi",
         r"^\s*[|&;]+\s*" + SHELL_COMMANDS + r"(?:\s|$)", 0.7,
         "value starts with a shell operator", confirm="not_a_table"),
    # ----------------------------------------------------------------- path traversal / LFI
    Rule("path-remote-include", "path_traversal",
         # A remote file inclusion probe: a whole value that is a URL (or a scheme-relative
         # one) to a text file holding code (shell.txt, c99.txt), cut short by '?', '#' or a
         # null byte so that the application's own suffix (.php) lands in the query string or
         # is dropped. A page's own URL ending in '?' (cart.php?) is a link.
         r"^\s*(?:(?:https?|ftp)://|//)[^\s/?#]+/\S*\.(?:txt|inc)(?:\?|%3f|#|%23|%00|\x00)\s*$"
         # A whole value that is a UNC path to a program or library on a host named by its
         # address or domain: Windows loads it over SMB (and hands the host the user's hash).
         r"|^\s*(?:\\\\|//)(?:\d{1,3}(?:\.\d{1,3}){3}|[\w-]+(?:\.[\w-]+)+)[\\/][^\s]{0,200}"
         r"\.(?:dll|exe|scr|cpl|hta|ps1|bat|vbs|msi|jar)\s*$",
         0.8, "remote file inclusion with its suffix cut off, or a program loaded over SMB"),
    Rule("path-traversal-sensitive", "path_traversal",
         r"(?:\.\.[/\\]|[/\\]\.\.)[\w./\\-]*(?:" + _SENSITIVE_UNIX[1:] + r"|"
         + _SENSITIVE_FILES + r"|(?:windows|winnt)[/\\])", 0.95,
         "traversal reaching a sensitive path"),
    Rule("path-traversal-deep", "path_traversal",
         r"(?:\.\.[/\\]+){2,}|(?:[/\\]\.\.){2,}|\.\.[/\\]+\.\.(?:$|[?#;%\x00])", 0.7,
         "repeated parent-directory segments", confirm="climbs_out"),
    Rule("path-traversal-single", "path_traversal",
         r"(?:^|[=/\\\s'\"])\.\.[/\\]", 0.35, "parent-directory segment",
         confirm="parent_step_escapes"),
    Rule("path-sensitive-absolute", "path_traversal",
         _PATH_START + r"/+(?:etc/(?:passwd|shadow|group|hosts|sudoers|issue|crontab"
         r"|master\.passwd|hostname|fstab|os-release|apache2?|httpd|nginx|mysql|php|ssh)"
         r"|proc/(?:self|\d+)/|var/log/|var/www/|root/|home/[^/\s]+/\.ssh|usr/local/apache)"
         r"|" + _PATH_START + r"[a-z]:[/\\]+(?:windows|winnt|boot\.ini|inetpub|xampp|wamp|apache"
         r"|program\s*files|php|mysql|users[/\\][^/\\]+[/\\](?:ntuser|appdata|\.aws|\.ssh|\.azure"
         r"|\.kube|\.docker|\.gnupg|\.git-credentials|_netrc|\.npmrc|\.pypirc))"
         r"|(?:^|[/\\])(?:boot|win|system)\.ini\b|\bsystem32[/\\]"
         r"|" + _PATH_START + r"[/\\][\w .\\/-]*(?:access|error)[._]log\b"
         r"|" + _PATH_START + r"[/\\](?:opt|usr|var|etc|apache\d?|xampp|wamp|log|logs)[/\\]"
         r"[\w .\\/-]*\.(?:log|conf|cnf|ini|passwd|pwd|htpasswd|php|inc)\b"
         r"|" + _PATH_START + r"/var/(?:adm|log)/\w",
         0.8, "absolute path to a sensitive file", confirm="sensitive_path_targeted"),
    Rule("path-system-root", "path_traversal",
         r"^\s*(?:file:/*)?(?:[a-z]:)?[/\\]+(?:etc|var|usr|proc|opt|root|sys|boot|bin|sbin|windows"
         r"|winnt|program\s*files(?:\s*\(x86\))?|programdata|inetpub|xampp|wamp\d*|apache\d*|nginx"
         r"[\w.-]*|mysql|php\d*|cgi-bin|private|volumes|system32|documents\s+and\s+settings"
         r"|web-inf|library|logs?|sysprep)[/\\]+[^\s<>\"'|;]*\s*(?:%00|\x00)?$"
         r"|^\s*[a-z]:[/\\]+[^\s<>\"'|;]*(?:\.(?:ini|conf|cnf|log|xml|inf|dat|bak|sam)|[/\\]sam)"
         r"\s*(?:%00|\x00)?$", 0.6, "absolute path into a system directory",
         confirm="system_path_target"),
    Rule("path-data-wrapper", "path_traversal",
         # PHP's data:// stream handed to an include: the code it carries runs as an included
         # file, so the inclusion names the attack (CONTAINER_RULES), unless it is an XML
         # entity's system identifier (YIELDS_TO).
         r"(?:^|[=\s'\"(])data://text/plain(?:;base64)?,", 0.9,
         "PHP data:// stream given to a file inclusion"),
    Rule("path-wrapper", "path_traversal",
         r"\b(?:php|zip|phar|expect|glob|compress\.(?:zlib|bzip2)|zlib|ogg|rar|ssh2\.\w+)://"
         r"|\bfile://+[\w/\\.:%~-]{2,}|\bdata:(?:text/plain|application/x-httpd-php|;base64)|\binput://|\bdict://"
         r"|\bgopher://|\bjar:(?:file|https?):|\bnetdoc:", 0.8, "stream wrapper / file URL"),
    Rule("path-encoded-dots", "path_traversal",
         r"(?:%(?:25)*2e|0x2e|%c0%ae|%e0%80%ae|\\u002e|&#x?0*(?:2e|46);?){2}"
         r"(?:%(?:25)*(?:2f|5c)|0x(?:2f|5c)|%c0%af|%c1%9c|%e0%80%af|[/\\])"
         r"|\.\.(?:%(?:25)*(?:2f|5c)|%c0%af|%c1%9c|0x(?:2f|5c))", 0.85, "encoded traversal"),
    Rule("path-obfuscated-dots", "path_traversal",
         r"(?:" + _DOT + r"{2}" + _SEP + r"){2}|" + _DOT + r"{2}" + _SEP + r"+"
         r"(?:(?:etc|boot\.ini|win(?:nt|dows)|system32|proc|var|usr)\b|\{file\})", 0.85,
         "parent-directory segments spelled in (mis)encoded forms", confirm="climbs_out"),
    Rule("path-sensitive-file", "path_traversal",
         r"\betc(?:[/\\]|%(?:25)*(?:2f|5c)|0x(?:2f|5c)|%c0%af|%c1%(?:9c|pc|af|1c|8s)|%c0%(?:qf|9v)"
         r"|%u(?:2215|2216|efc8|f025))+(?:passwd|shadow|group|hosts|issue|sudoers|master\.passwd"
         r"|security|httpd|apache2?|mysql|php)\b|(?:^|[^\w.])(?:boot|win|system)\.ini\b"
         r"|\b(?:web|meta)-inf[/\\]+(?:web\.xml|classes|lib|manifest\.mf"
         r"|[\w-]+\.(?:xml|properties))",
         0.8, "a well-known sensitive file", confirm="path_not_named_in_sentence"),
    Rule("path-null-suffix", "path_traversal",
         r"\.\.[/\\][^\x00]{0,200}(?:\x00|%00)"
         # A file in a directory (/etc/php.ini, uploads/avatar.jpg), ended by a null byte: it
         # cuts off the suffix the application appends before opening it (include($p.".php")).
         r"|[/\\][^\x00\s/\\]*\.\w{1,5}(?:\x00|%00|\\x00)$",
         0.8, "path with null-byte truncation"),
    Rule("path-dot-runs", "path_traversal",
         r"(?:^|[/\\])\.{3,}[/\\]|[/\\]\.{3,}[/\\]|(?:^|[^.])[/\\]\.{3,}$"
         r"|(?:\.\.[/\\]?;[/\\]){1,}|\.\.;/",
         # Not "./..." at the end: Go's pattern for every package below (go test ./...).
         0.7, "dot-run or semicolon traversal"),
    # ----------------------------------------------------------------- template injection
    Rule("ssti-dunder-chain", "ssti",
         r"__(?:class|mro|subclasses|globals|builtins|base|bases|init|import|dict|getattribute"
         r"|reduce|loader|module)__\s*(?:\.|\[|\(|\|)[^\n]{0,80}__\w+__|\b(?:config|self|request"
         r"|lipsum|cycler|joiner|namespace|url_for|get_flashed_messages)\s*\.\s*__\w+__",
         0.9, "Python dunder-attribute chain"),
    Rule("ssti-arithmetic-probe", "ssti",
         # A constant product in a template's output delimiters: the canonical probe, whose
         # rendered result (49, 1337) shows the template engine read it. Sentences around it
         # do not make it a quotation, so it scores past the prose discount. Sums are left to
         # the other rules: documentation shows {{ 1 + 1 }} rendering 2.
         r"(?:\{\{=?|\$\{|#\{|\*\{|<%=|\[\[)\s*\d{1,6}\s*\*\s*\d{1,6}\s*(?:\}\}|\}|%>|\]\])",
         0.9, "a constant product inside template delimiters"),
    Rule("ssti-expression", "ssti",
         # An object or dict literal may open before the code and close after it
         # ({{ {"a": config} }}).
         r"\{\{[^}]{0,200}?(?:\d\s*[*+/%-]\s*\d|['\"]\s*[*+]|[*+]\s*['\"]|\w\s*\("
         r"|\|\s*\w|\b(?:config|self|request|lipsum"
         r"|cycler|joiner|namespace|url_for|range|dict|attr|popen|system|import|eval|exec|os"
         r"|subprocess|getattr|constructor|_self|env|app|settings|session|g|signer|secret_key"
         r"|\w*(?:passw(?:or)?d|pwd|passphrase)\w*)\b"
         r"[.\[(|]?|__\w+"
         r"|\|\s*(?:attr|safe|e|join|format|map|select)\b)[^{}]{0,200}(?:\}[^{}]{0,50})?\}\}",
         0.85,
         "code inside {{ }}", confirm="template_expression_active"),
    Rule("ssti-dollar-brace", "ssti",
         r"(?:^|[^{@])\$\{\s*(?:\d+\s*[*+/%-]\s*\d+|[^{}]{0,120}(?:\.getclass|\.forname|runtime|\bt\s*\("
         r"|new\s+\w|\.exec|\.getruntime|freemarker|java\.|@java|\bclass\b|\.invoke"
         r"|\bfile\s*\(|getenv|system)[^{}]{0,120}|[\w.]+\s*\([^{}]*\)\s*|\s*=\s*[^}]*)\}",
         0.85, "expression inside ${ }"),
    Rule("ssti-hash-brace", "ssti",
         r"[@~]\{\s*(?:\d+\s*[*+/%-]\s*\d+|[^{}]{0,120}(?:\.|\(|\bt\s*\()[^{}]{0,120})\s*\}"
         # Ruby's and Pug's "#{user.name}" interpolate a value, Thymeleaf's #{home.title} names
         # a message: a probe calls (with or without parentheses: #{Kernel.send :system, …}),
         # subscripts, quotes or computes (#{7*7}, #{ENV['X']}), or reaches an object that
         # runs code or holds secrets (#{process.env}, #{User.first.password_digest}).
         r"|#\{\s*(?:\d+\s*[*+/%-]\s*\d+|[^{}]{0,120}(?:[(\[`'\"%]|\w\s+[:%@$\w]|::|\b(?:kernel|io"
         r"|file|dir|env|process|global|globalthis|rails|send|public_send|eval|system|exec|spawn"
         r"|session|request|params|cookies|config|settings|app"
         r"|open|require|load|binding|object|class|method|const_get|constantize|instance_\w+"
         r"|syscall|fork|exit|abort|\w*passw\w*|secret\w*|\w*token\w*|\w*digest\w*|credential\w*"
         r"|\w*_key|private\w*)\b)[^{}]{0,120})\s*\}"
         # Thymeleaf's *{…} opens on a name or a call; CSS's *{x:expression(…)} on a property.
         r"|\*\{\s*(?:\d+\s*[*+/%-]\s*\d+|[\w.]{0,60}(?:\.|\(|\bt\s*\()[^{}]{0,120})\s*\}"
         r"|@\(\s*\d+\s*[*+/%-]\s*\d+\s*\)|\{\$smarty\.|\{\{=\s*[\w.]",
         0.75, "expression inside #{ } *{ } @{ }"),
    Rule("ssti-call-in-braces", "ssti",
         r"\{\{[^}]{0,200}?\w\s*\(|\$\{[^}]{0,120}?(?:\.getclass|\.forname|runtime|\bt\s*\(|new\s+\w"
         r"|\.exec\s*\(|\.getruntime|freemarker|@java|\.invoke|getenv|\bsystem\s*\()"
         r"|\|\s*(?:map|filter|attr|join|format|sort|reduce|selectattr)\s*\(\s*['\"\[]", 0.8,
         "function call inside a template expression", confirm="template_expression_active"),
    Rule("ssti-statement", "ssti",
         r"\{%-?\s*(?:import|include|extends|set|for|if|debug|print|raw|macro|call|filter|with"
         r"|autoescape|load|block|endfor|endif|php|exec)\b|\{%-?\s*\w+[^%{}]{0,100}%\}|<%=?\s*[^%<]{0,200}%>"
         r"|<#(?:assign|import|include|list|if|ftl|setting)\b|\#(?:set|foreach|if|include|parse"
         r"|evaluate|define|macro)\s*\(|\$class\.inspect|\{php\}|\$\{[^{}]{0,100}\w\s*\([^{}]{0,100}\}|\{\{\s*\d+\s*\}\}"
         # A Dust helper is {@name params} or {@name/}; {"@context": …} is JSON-LD.
         r"|\{@\w+(?:\s|/?\})|\{\{#?\s*(?:with|each|lookup|#with)\b",
         0.7, "template statement tag", confirm="template_statement_active"),
    Rule("ssti-whole-context", "ssti",
         # Go's {{.}} prints the whole data object handed to the template: a probe's first
         # look at what it can reach. Inside {{with}} or {{range}} the dot is the current item.
         r"\{\{-?\s*(?:print(?:f|ln)?\s+(?:\"[^\"\n{}]{0,20}\"\s+)?)?\.\s*-?\}\}", 0.7,
         "a Go template printing its whole data object",
         confirm="dot_outside_block"),
    Rule("ssti-tag-call", "ssti",
         # Smarty's function tag ({system('id')}, {if system('id')}{/if}) and its internals,
         # Blade's @php block running a command, Ruby or Pug interpolating a backtick command.
         # (Not fetch, include or assert: JSX and C bodies call those inside braces.)
         r"(?:^|[^{$\w])\{\s*(?:if\s+)?(?:system|exec|passthru|shell_exec|popen|proc_open|eval"
         r"|file_get_contents|readfile|phpinfo)\s*\([^(){}]{0,100}\)\s*\}"
         r"|\{\s*smarty(?:_\w+)?::\w+\s*\(|@php\b[^@]{0,200}\b(?:system|exec|passthru|shell_exec"
         r"|popen|proc_open|eval)\s*\(|[#$]\{\s*`[^`]{1,100}`\s*\}",
         0.85, "template tag running a function"),
    Rule("ssti-object-probe", "ssti",
         r"\b(?:freemarker\.template\.utility\.execute|java\.lang\.(?:runtime|processbuilder|system)"
         r"|ognl|getclass\(\)\.forname|velocity\b.{0,40}\$"
         # Spring contexts that load bean definitions from a URL: a gadget's class names.
         r"|(?:classpath|filesystem)xmlapplicationcontext)"
         # A package name alone is a log line or a stack frame ("Failed to execute goal
         # org.apache.maven.plugins:…"); a payload reaches it from code.
         r"|(?:[@(]|\bnew\s+|[;=]\s*)org\.(?:apache|springframework)\.|#_memberaccess|@java\.lang"
         r"|\.getdeclaredmethods"
         r"|\$\{\s*(?:applicationscope|sessionscope|requestscope|pagecontext|initparam)\b"
         r"|@\(?\s*system\.(?:diagnostics|io|reflection|net|runtime)\.", 0.75,
         "template-engine object access"),
    # ----------------------------------------------------------------- CRLF / response splitting
    Rule("crlf-header-injection", "crlf",
         # The name starts its line (an indented line continues the header before it, as YAML
         # nests keys), and a value follows on the line (YAML's "server:" opens a mapping).
         r"(?:[\r\n]|\\r|\\n|\xe5\x98[\x8a\x8d]|\xc4[\x8a\x8d]|%0d|%0a|%%0d0a|%%0[ad]0[ad]|%u000[ad])"
         r"(?:set-cookie|location|"
         r"content-(?:type|length|security-policy|disposition|encoding)|refresh|x-[\w-]+|"
         r"access-control-[\w-]+|http/\d|cache-control|transfer-encoding|link|server|status|"
         r"host|cookie|vary|www-authenticate|strict-transport-security|upgrade|connection|bcc|"
         r"last-modified|pragma|expires|etag|age|p3p|resent-[\w-]+|remote-user|forwarded|"
         r"referrer-policy|report-to|nel|reporting-endpoints|alt-svc|surrogate-control|"
         r"permissions-policy|true-client-ip)[ \t]*:[ \t]*[^\s]",
         0.9, "header injected after a line break", confirm="header_injected"),
    Rule("crlf-credential-header", "crlf",
         # A parameter's text, a break, and credentials or a copy recipient of its own: a
         # pasted header list opens with a field instead, and is read by the rule above.
         # A copy recipient is an address (a thank-you's "CC: Maria" names a person).
         r"^[^\r\n:]{0,60}(?:[\r\n]|\\r|\\n|%0d|%0a)+(?:(?:proxy-)?authorization[ \t]*:[ \t]*\S"
         r"|cc[ \t]*:[^\r\n@]{0,200}@)",
         0.9, "credentials or a recipient injected after a line break", confirm="header_injected"),
    Rule("crlf-forged-line", "crlf",
         # An encoded break (a real one is text that spans lines) followed by what a log, an SMTP
         # session or a Redis/Memcached server reads as a line of its own.
         r"(?:%0d|%0a|\\r|\\n)+(?:\[(?:info|warn|warning|error|debug|notice|crit|fatal|audit)\]"
         r"|\[?\d{4}-\d\d-\d\d[ t%]|(?:info|warn|error|debug)\s*[:\]]|mail\s+from\s*:|rcpt\s+to\s*:"
         r"|(?:set|config|flushall|slaveof|replicaof|eval|del|keys|get)(?:%20|\s)+\w)",
         0.9, "a forged log, SMTP or cache-protocol line after an encoded break"),
    Rule("crlf-smtp-command", "crlf",
         # An SMTP session's own commands on lines of their own: a message ended with a lone
         # dot and a new one begun (real or encoded breaks). A transcript pasted whole has no
         # message to end first.
         r"(?:[\r\n]|\\r|\\n|%0d|%0a)\.(?:[\r\n]|\\r|\\n|%0d|%0a)+(?:mail\s+from|rcpt\s+to)\s*:",
         0.85, "SMTP commands injected after a line break"),
    Rule("crlf-mail-header", "crlf",
         # The value is an address (a mail form's field) that goes on into a header of its own.
         # Also the address as a JSON string or a form value: {"email":"a@b.example\r\nCc: …"}.
         r"(?:^|[\"=])\s*[\w.+-]+@[\w-]+(?:\.[\w-]+)+\s*(?:[\r\n]|\\r|\\n|%0d|%0a)+\s*(?:bcc|cc|to|from"
         r"|subject|reply-to|sender)\s*:"
         # Any form field whose value encodes a break before a copy header (subject=Hi%0d%0aCc:).
         r"|=[^\s=&%]{0,100}(?:%0d|%0a|\\r|\\n)+\s*(?:bcc|cc)\s*:"
         # A name alone, then an encoded break before a header of the mail it is written into.
         r"|^\s*[^\s=&%]{1,100}(?:%0d|%0a|\\r|\\n)+\s*(?:bcc|cc|reply-to|sender|from|to)\s*:", 0.85,
         "mail header injected after an address or a form field's value",
         cue=r"(?:[\r\n]|\\r|\\n|%0d|%0a)+\s*(?:bcc|cc|to|from|subject|reply-to|sender)\s*:"),
    Rule("crlf-forged-log-line", "crlf",
         # A name, an agent or an id, then a line break and one more line written as a log
         # writes its own (a time stamp, a level, an access-log entry), ending the value.
         # The forged line claims something a log records: a level, a login, a grant.
         r"^\s*[\w.@+/-]{1,60}\s*(?:\r?\n|\r)(?:\[?\d{4}-\d\d-\d\d[ t]\d\d:\d\d|\[(?:info|warn"
         r"|warning|error|debug|notice|audit)\]|\d{1,3}(?:\.\d{1,3}){3} - \S+ \[)[^\r\n]*"
         r"(?:info|warn|error|debug|notice|audit|log(?:ged)?\s*in|login|success|granted|admin|root"
         r"|http/|approved|reset|password|privilege|elevated|authori[sz]ed|verified)"
         r"[^\r\n]*$", 0.8,
         "a log line forged after a line break"),
    Rule("crlf-double-break-body", "crlf",
         r"(?:\r?\n|\\r\\n)(?:\r?\n|\\r\\n)\s*(?:<[a-z!]|http/\d)", 0.75,
         "blank line then injected body", confirm="body_splits_response"),
    Rule("crlf-http-response", "crlf",
         r"[\r\n]\s*http/\d(?:\.\d)?\s+\d{3}\b", 0.9, "injected status line"),
    Rule("crlf-encoded-breaks-only", "crlf",
         r"^\s*(?:%(?:25)*0|[da])*%(?:25)*0[da](?:%(?:25)*0|[da])*%(?:25)*0[da]"
         r"(?:%(?:25)*0|[da])*\s*$", 0.6,
         "a value of nothing but percent-encoded line breaks (a response-splitting probe), also"
         " nested to survive one pass of stripping (%0%0d%0ad)"),
    # ----------------------------------------------------------------- LDAP injection
    Rule("ldap-filter-breakout", "ldap",
         r"\*?\)\s*\(+\s*[|&!]|\*\s*\(\s*\)\s*[|&]|\)\s*\(\s*[\w-]+\s*[~<>]?=|\(\s*[|&!]\s*\(\s*[\w-]+\s*[~<>]?="
         r"|\(\s*[\w-]+\s*[~<>]?=\s*\*\s*\)\s*\)|\*\s*\)\s*\(\s*[\w-]+\s*[~<>]?="
         # An extensible match after the breakout (userAccountControl:1.2.840.113556.1.4.803:=2).
         r"|\*\s*\)\s*\(\s*[\w-]+(?::[\w.-]+)+\s*:=",
         0.85, "LDAP filter breakout", confirm="filter_breaks_out"),
    Rule("ldap-wildcard-attr", "ldap",
         r"\(\s*(?:objectclass|objectcategory|uid|cn|sn|mail|userpassword|samaccountname|"
         r"givenname|memberof|description|ou|dc|homedirectory|userprincipalname)\s*[~<>]?=\s*\*"
         r"|\b(?:objectclass|userpassword|samaccountname)\s*=\s*\*", 0.8,
         "LDAP attribute wildcard", confirm="filter_breaks_out"),
    Rule("ldap-null-close", "ldap",
         r"^\s*\*\s*\)|[\w*]\)\s*(?:%00|\x00)|\)\s*\(\s*\|\s*\(|^\s*\*\s*\(\s*[|&]"
         # A name cut short by a NUL: the rest of the filter or path it lands in is dropped.
         r"|^\s*[a-z][\w.@-]{0,60}(?:%00|\x00)\s*$", 0.6,
         "LDAP filter closed early"),
    Rule("ldap-dn-injection", "ldap",
         # A name that goes on into more components of a distinguished name.
         # Or a multi-valued RDN (jdoe+ou=Administrators); not '+o=', which formulas write.
         # A display name may hold blanks (Alice Cooper,cn=Administrators,dc=corp).
         r"^\s*[\w.@'-]+(?:[ \t]+[\w.@'-]+){0,3}\s*(?:,\s*(?:ou|dc|cn|uid|o)|\+\s*(?:ou|dc|cn|uid))"
         r"\s*=\s*[\w-]", 0.75,
         "distinguished-name components after a name"),
    # ----------------------------------------------------------------- XML / XXE
    Rule("xml-doctype-entity", "xml",
         r"<!doctype[^>]{0,200}\[|<!entity\b|<!doctype\s+\w+\s+(?:system|public)\b", 0.95,
         "DOCTYPE with internal subset or external DTD", confirm="dtd_reaches_out"),
    Rule("xml-external-ref", "xml",
         r"\bsystem\s+['\"](?:file|https?|ftp|php|expect|jar|netdoc|gopher|data)\s*:"
         r"|\bpublic\s+['\"][^'\"]{0,200}['\"]\s*['\"](?:file|https?|ftp)\s*:", 0.9,
         "external entity reference", confirm="dtd_reaches_out"),
    Rule("xml-xinclude", "xml",
         r"<\s*xi\s*:\s*include\b|xmlns\s*:\s*xi\s*=|\bhttp://www\.w3\.org/2001/xinclude", 0.9,
         "XInclude"),
    Rule("xml-xslt", "xml",
         r"<\s*xsl\s*:\s*(?:stylesheet|transform|value-of|template|copy-of|include|import"
         r"|variable|for-each|output)\b|xmlns\s*:\s*xsl\s*=|<\?xml-stylesheet\b", 0.85, "XSLT"),
    Rule("xml-parameter-entity", "xml",
         r"%\s*[a-z_][\w.-]*\s*;\s*\]|<!entity\s+%|<!attlist\b|<!element\b", 0.8,
         "DTD parameter entity or declaration"),
    Rule("xml-prolog", "xml",
         r"<\?xml\s+version\s*=", 0.3, "XML prolog"),
    Rule("xml-comment-split", "xml",
         # A comment splitting an address's domain (admin@corp.example<!---->.attacker.example):
         # a signature covers the text around it, a parser that drops comments reads it joined.
         # In an XML document (an assertion, a NameID): on a web page the same trick hides
         # an address from spam harvesters.
         r"<[\w:-]*(?:nameid|subject|assertion|response|attributevalue|issuer)\b[^<]{0,200}>[^<]{0,200}"
         r"@[\w-]+(?:\.[\w-]+)*<!--[^>]{0,100}-->[\w.-]", 0.8,
         "XML comment splitting a signed address"),
    Rule("xml-element-injection", "xml",
         # The value closes the element it is written into and opens another
         # (</name><role>admin</role><name>), or an XPath predicate and unions a path.
         r"^[^<>\n]{0,60}</[a-z][\w:.-]*>\s*<[a-z][\w:.-]*>|['\"]\s*\]\s*\|\s*//?[a-z*@]", 0.65,
         "XML element or XPath injection", confirm="opens_data_element"),
    Rule("xml-xpath-function", "xml",
         # A quote broken out into a boolean that calls an XPath function on a location path
         # (' or count(/*)=1 or 'a'='b, ' and substring(//user[1]/password,1,1)='a), not a URL.
         # (/* then ')', '[' or '/' is a node test; /**/ is a SQL comment.)
         r"['\"]\s*(?:or|and)\s+[\w-]{2,20}\s*\([^):]{0,40}(?:/\*[)\[/]|//\w|/\w+[\[/])"
         # A predicate closed and a union of paths: ')] | //user/password | a[('.
         r"|['\"]\s*\)*\s*\]\s*\|\s*//?[\w*@]", 0.85,
         "XPath injection reading the document's structure"),
    # ----------------------------------------------------------------- NoSQL injection
    Rule("nosql-operator", "nosql",
         r"[\[{,'\"]\s*['\"]{0,2}\$(?:ne|eq|gt|gte|lt|lte|in|nin|regex|where|exists|expr|or|and|not"
         r"|nor|elemmatch|size|type|mod|all|text|search|function|accumulator|lookup|graphlookup"
         r"|unionwith|jsonschema|options|comment|slice|meta|natural|out|merge)\b\s*['\"]{0,2}\s*[\]:=]"
         # Update operators as a JSON key, written into a document the application saves
         # (mongosh code writes them unquoted: { $set: { qty: 5 } }).
         r"|['\"]\$(?:set|unset|inc|push|pull|pullall|addtoset|rename|setoninsert|currentdate)['\"]"
         r"\s*:"
         # CouchDB's server-admin role given in a user document (a sign-up that grants itself
         # admin, as a duplicate "roles" key smuggles past the validator).
         r"|['\"]roles['\"]\s*:\s*\[\s*['\"]_admin['\"]",
         0.9, "MongoDB query or update operator", confirm="operator_reaches_query"),
    Rule("nosql-tautology", "nosql",
         # An operator that matches every document: a regular expression of anything, or
         # greater than the empty string ({"pass": {"$regex": ".*"}}, {"$gt": ""}).
         r"['\"]?\$(?:regex['\"]?\s*:\s*['\"]\^?\.[*+]\$?['\"]|gt['\"]?\s*:\s*(?:''|\"\"))", 0.9,
         "a query operator that matches everything"),
    Rule("nosql-bare-operator", "nosql",
         r"^\s*['\"]?\$(?:ne|eq|gt|gte|lt|lte|in|nin|regex|where|exists|expr|or|and|not|nor"
         r"|elemmatch|size|type|mod|all|function|accumulator|lookup|graphlookup|unionwith"
         r"|jsonschema)['\"]?\s*$", 0.9,
         "a query operator as a whole key or value (JSON key, form field)"),
    Rule("nosql-where-js", "nosql",
         r"\$where\s*['\"]?\s*:|\bthis\s*\.\s*\w+\s*(?:==|!=|\.match\s*\(|\.length)|"
         r"[\w'\"]\s*;\s*return\s*\(?\s*(?:true|1|this)\b|:\s*/\.\*/|\|\|\s*['\"]?1['\"]?\s*==\s*['\"]?1"
         # A quote closed and an empty loop that never ends ('; while(true){}; var a=').
         r"|['\"]\s*;\s*(?:while\s*\(\s*(?:true|1)\s*\)|for\s*\(\s*;\s*;\s*\))\s*\{\s*\}"
         r"|['\"]\s*&&\s*this\.|\bdb\s*\.\s*\w+\s*\.\s*(?:find|insert|drop|remove|update)\s*\("
         r"|\bdb\s*\.\s*(?:getcollectionnames|dropdatabase|eval|getsiblingdb)\s*\("
         r"|\bredis\s*\.\s*p?call\s*\("
         # A CouchDB design document: the server runs its functions (a view that emits every
         # document, a validation that lets every write through).
         r"|[\"']_id[\"']\s*:\s*[\"']_design/|[\"'](?:map|reduce|validate_doc_update)[\"']\s*:"
         r"\s*[\"']\s*function\s*\("
         # Cypher (Neo4j) after a breakout: MATCH (n) DETACH DELETE n
         r"|\bdetach\s+delete\b|['\"]\s*[})]*\s*(?:match|merge|create)\s*\(\s*\w*\s*(?::\s*\w+)?\s*\)",
         0.85, "server-side JavaScript in a NoSQL query", confirm="query_call_runs",
         cue=(
             r"\$where|==|!=|\.match\s*\(|\.length|;\s*return|:\s*/\.\*/|\|\||&&\s*this\."
             r"|;\s*(?:while|for)\s*\("
             r"|(?:find|insert|drop|remove|update|getcollectionnames|dropdatabase|eval"
             r"|getsiblingdb|p?call|match|merge|create)\s*\(|\bdetach\s+delete\b|_design/"
             r"|function\s*\(")),
    Rule("nosql-bracket-operator", "nosql",
         r"\w\[\s*\$\w+\s*\]\s*=|\[\s*\$(?:ne|gt|lt|regex|in|nin|exists|where|eq|gte|lte)\s*\]"
         # LoopBack's filter syntax: filter[where][password][regexp]=/^a/
         r"|\[where\](?:\[[\w.]+\])*\[(?:regexp|like|nlike|ilike|neq|inq|nin|gt|gte|lt|lte)\]\s*=",
         0.9, "operator smuggled in a form-field key"),
    Rule("nosql-js-sleep", "nosql",
         # JavaScript's sleep counts milliseconds (MongoDB's $where); SQL's counts seconds.
         # Then the string or the statement ends, as JavaScript goes on; a SQL comment after it
         # ('; sleep(1000); --) is a stacked SQL query.
         r"(?:^|['\";]\s*|\$where['\"]?\s*:\s*['\"]?)sleep\s*\(\s*\d{4,}\s*\)\s*;?\s*"
         r"(?:$|['\"+}]|var\b|\w+\s*=)", 0.85,
         "a JavaScript sleep of seconds, in milliseconds"),
    Rule("nosql-quote-rebalance", "nosql",
         # JavaScript spliced into a $where string: a quote and ';' close it, statements run,
         # and a variable opens a string again for the query's closing quote ('; … ; var x=').
         r"['\"]\s*;[^;'\"]{1,100};\s*var\s+\w+\s*=\s*['\"]", 0.9,
         "JavaScript statements spliced into a query string"),
    Rule("nosql-redis-command", "nosql",
         # A Redis command on a line of its own, after a line break (a cache key or a value
         # written into the protocol): FLUSHALL, SLAVEOF, CONFIG SET dir.
         r"(?:[\r\n]|\\r|\\n|%0d|%0a)\s*(?:flushall|flushdb|(?:slaveof|replicaof)\s+\S|config\s+set\s+"
         r"(?:dir|dbfilename)\b|module\s+load\s)"
         # Writing a namespaced key (SET session:admin …) after a protocol line's CR LF.
         r"|(?:\r\n|%0d%0a|\\r\\n)\s*(?:set|hset|del|expire)\s+[\w.-]+:[\w:.-]+\s",
         0.85, "Redis command after a line break"),
    Rule("nosql-search-script", "nosql",
         # An Elasticsearch script field running Java or Groovy that reaches the system.
         r"[\"']script(?:_fields)?[\"']\s*:.{0,300}(?:\.execute\s*\(|getruntime|processbuilder"
         r"|java\.lang\.(?:runtime|process|system))", 0.9,
         "search-engine script running a program"),
    Rule("nosql-js-injection", "nosql",
         r"['\"]\s*\|\|\s*['\"]?[\w'\"]+['\"]?\s*==|\bsleep\s*\(\s*\d{3,}\s*\)\s*(?:;|\||$|['\"])"
         r"|\bobjectid\s*\(\s*['\"]|\bisodate\s*\(|\bmapreduce\b|tojson\s*\(",
         0.6, "JavaScript tautology"),
    # ----------------------------------------------------------------- malicious uploads
    Rule("upload-double-extension", "file_upload",
         r"\.(?:php\d?|phtml|phar|pht|phps|pgif|shtml|asp|aspx|asa|cer|asax|ashx|asmx|jsp|jspx"
         r"|jsw|jsv|jspf|cfm|cfml|cgi|pl|py|rb|sh|exe|dll|bat|cmd|vbs|ps1|war|hta|svg|html?)"
         r"(?:\s|\.|%00|\x00|%20|;|:|::\$data|/|\\|%0a|%0d|\?|#|%2e)+[\w.-]*"
         r"(?:jpe?g|png|gif|bmp|ico|webp|pdf|txt|docx?|zip|mp4|svg|tiff?|heic)\b"
         r"|\.(?:jpe?g|png|gif|bmp|ico|webp|pdf|txt|docx?|zip|tiff?)(?:\s|%00|\x00|%20|;)*\.(?:php\d?"
         r"|phtml|phar|pht|asp|aspx|asa|cer|jsp|jspx|cfm|cgi|pl|py|sh|exe|htaccess|shtml)\b",
         0.9, "double extension hiding a script"),
    Rule("upload-active-content-name", "file_upload",
         r"^[^/\\\s<>@]{0,200}\.(?:s?html?|xhtml|svg|xml|swf)(?:[\s./\\;?]|%00|\x00|%20)*$",
         0.9, "file name of active content (HTML, SVG)",
         full_score_contexts=frozenset({"filename", "upload"})),
    Rule("upload-script-name", "file_upload",
         r"^[^/\\\s<>@]{0,200}\.(?:ph(?:p|tm)\w*|phar|pht|phps|pgif|stm|shtml?|inc|cfc"
         r"|asp|aspx|asa|cer|asax|ashx|asmx|jsp|jspx|jsw|jsv|jspf|cfm|cfml|cgi|pl|exe|dll|bat|vbs"
         r"|ps1|war|hta|scr|msi|jar)(?:[\s./\\;?]|%00|\x00|::\$data|%20)*$",
         0.6, "executable or server-script file name"),
    Rule("upload-script-as-image", "file_upload",
         # Upload metadata naming a server script and declaring an image type (either order):
         # the type check passes and the server runs the file.
         # (Within one object: a list of files may hold a script and an image.)
         r"[\"']?(?:file_?)?name[\"']?\s*[:=]\s*[\"'][^\"'/\\]{0,200}\.(?:ph(?:p\d?|tml|ar|t|ps)|jspx?"
         r"|aspx?|asa|cer|ashx|asmx|cfm|cgi|shtml)[\"'][^{}]{0,200}[\"'](?:mime_?|content_?|file_?)?type"
         r"[\"']?\s*[:=]\s*[\"']image/"
         r"|[\"'](?:mime_?|content_?|file_?)?type[\"']?\s*[:=]\s*[\"']image/[^\"']{1,40}[\"'][^{}]{0,200}"
         r"[\"']?(?:file_?)?name[\"']?\s*[:=]\s*[\"'][^\"'/\\]{0,200}\.(?:ph(?:p\d?|tml|ar|t|ps)|jspx?"
         r"|aspx?|asa|cer|ashx|asmx|cfm|cgi|shtml)[\"']", 0.85,
         "a server script declared as an image"),
    Rule("upload-disposition-script", "file_upload",
         # The file name of a multipart part, written into a field: filename="profile.phtml".
         # (A multipart parameter follows a ";" or starts the value; a program's .FileName=
         # property names what it runs.)
         r"(?:^|[;\s])filename\*?\s*=\s*[\"']?[^\"';\r\n]{0,200}\.(?:ph(?:p|tm)\w*|phar|pht|phps"
         r"|shtml?|asp|aspx|asa|cer|ashx|asmx|jsp|jspx|cfm|cgi|pl|exe|war|htaccess)"
         r"(?:[\"';\s]|%00|$)", 0.8,
         "multipart file name of a server script"),
    Rule("upload-server-config", "file_upload",
         r"^\s*(?:\.htaccess|\.htpasswd|\.user\.ini|web\.config|php\.ini|uwsgi\.ini|httpd\.conf)"
         r"(?:\s|$|%00|\x00|\.|_)|\baddtype\s+application/x-httpd-php|\bsethandler\s+"
         r"|\bphp_(?:value|flag)\s+(?:auto_(?:pre|ap)pend_file|engine)|\bauto_(?:pre|ap)pend_file"
         r"\s*=|<handlers>.{0,200}<add\b|=\s*@\(\s*exec://"
         # IIS handlers let scripts run where they write (accessPolicy="Read, Script, Write").
         r"|<handlers\s[^>]{0,100}accesspolicy\s*=\s*['\"][^'\"]{0,40}\bscript\b"
         # Apache handing a file type to a script handler (AddHandler cgi-script .txt).
         r"|\baddhandler\s+(?:cgi-script|server-parsed|php\d?-script|application/x-httpd-php\w*)\s"
         r"|\boptions\s+[^\n]{0,60}\+execcgi\b", 0.85,
         "server configuration override (a uWSGI option read from a command: @(exec://…))"),
    Rule("upload-webshell", "file_upload",
         r"<\?php|<\?=|<%@\s*page|<%\s*(?:eval|execute|response\.write|runtime)"
         r"|<jsp:|<script\s+language\s*=\s*['\"]?php"
         r"|<\s*asp:|\bwscript\.shell\b|\bscripting\.filesystemobject\b", 0.8,
         "server-side script content", confirm="script_reaches_system"),
    # A web shell: a server script, as a file holds it, that runs what later requests send.
    # An injected payload carries its command; a planted file reads it from the request, so
    # the script is the container and names the detection (CONTAINER_RULES). A script opened
    # inside a quoted string is an argument of something else (echo "<?php …" > x.php).
    Rule("upload-request-shell", "file_upload",
         r"(?:^|[^'\"\\])(?:<\?(?:php\b|=)|<%|<jsp:scriptlet>"
         r"|<script\s+(?:language|runat)\s*=\s*['\"]?(?:php|server))"
         r".{0,300}(?:" + _SCRIPT_SINK + r".{0,120}" + _REQUEST_INPUT + r"|"
         + _REQUEST_INPUT + r".{0,300}" + _SCRIPT_SINK + r")",
         0.9, "web shell: a server script running what the request sends"),
    Rule("upload-formula-dde", "file_upload",
         # A spreadsheet cell that asks another program for its value (DDE: =app|'topic'!item),
         # which starts the program with the topic as its command line; as an export or an
         # uploaded CSV holds it. Or the DDE() function and Word's DDEAUTO field.
         r"(?:^|[\s,;\t\"'=+@*-])(?:cmd|msexcel|excel|powershell|pwsh|mshta|rundll32|regsvr32"
         r"|certutil|bitsadmin|wscript|cscript|msiexec|explorer|calc)(?:\.exe)?\s*\|\s*['\"]"
         r"[^'\"\n]{0,300}['\"]\s*!"
         r"|\bdde(?:auto)?\s*\(\s*['\"]\s*(?:cmd|powershell|mshta|rundll32|msexcel)"
         r"|\{\s*dde(?:auto)?\s+[^}\n]{0,100}(?:cmd|powershell)(?:\.exe)?\b", 0.85,
         "spreadsheet formula running a program through DDE"),
    Rule("upload-image-script", "file_upload",
         # ImageMagick's vector format (MVG) with a url() that a delegate hands to a shell.
         r"\bpush\s+graphic-context\b|\bviewbox\s+\d+\s+\d+\s+\d+\s+\d+\b.{0,200}\burl\s*\("
         # Ghostscript's output file piped to a command (a PostScript or EPS upload).
         r"|\(\s*%pipe%|^%!ps.{0,1000}\b(?:outputfile|setpagedevice)\b.{0,200}%pipe%"
         # A PDF that runs JavaScript or launches a program when opened.
         r"|^.{0,16}%pdf-.{0,1000}/(?:js|javascript|launch)\b", 0.9,
         "a document or drawing that runs a program or script when rendered"),
    Rule("upload-polyglot", "file_upload",
         # Up to twelve bytes before the marker: a JPEG's SOI and APP0 header is ten in UTF-8.
         r"^.{0,12}(?:gif8[79]a|png\r\n|jfif|exif|%pdf-).{0,400}<(?:\?|%|script)", 0.95,
         "image or document header followed by script"),
    Rule("upload-name-traversal", "file_upload",
         r"^[\w-]{1,64}\.[a-z0-9]{2,5}\.\.[/\\]", 0.96,
         "a file name with a traversal appended"),
    Rule("upload-into-webroot", "file_upload",
         r"\.\.[/\\][\w./\\-]*(?:www|html|htdocs|wwwroot|public_html|webapps|uploads?|static)"
         r"[/\\][\w.-]{1,64}\.(?:php\d?|phtml|phar|aspx?|ashx|asmx|jspx?|cgi|pl|shtml|cfm)\s*$",
         0.96, "a server script written into the web root through a traversal"),
    Rule("upload-null-extension", "file_upload",
         r"\.\w{1,5}(?:%00|\x00|\\x00|\\0)\.?\w{0,5}$|::\$data\b", 0.8,
         "null byte or stream suffix in a file name", confirm="null_hides_extension"),
)
