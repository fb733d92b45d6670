"""The man pages: mandoc -Tlint clean, and in step with the program.

mailport.conf(5) must document every directive the config parser knows and
no other: the parser's own table comes from `mailport config directives`.
mailport(8) must document every command of `mailport --help`, and in each
command's section every option and action its `--help` names. So a
directive or option added without its documentation fails here, and so
does documentation left behind by a removed one.
"""
import os
import re
import shutil
import subprocess

from conftest import REPO, new_dir

MAN = os.path.join(REPO, "man")
CONF5 = os.path.join(MAN, "mailport.conf.5")
MAN8 = os.path.join(MAN, "mailport.8")

# sendmail takes send's options too (its --help prints both usages), and its
# section points at send's for them instead of repeating them.
SHARED_SECTIONS = {"sendmail": ["send"]}
# Every command takes these; DESCRIPTION says so once.
UNIVERSAL = {"-h", "--help"}


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30, **kw)


def section(text, name):
    """The source of one .Sh section, up to the next .Sh."""
    m = re.search(r"^\.Sh %s\n(.*?)(?=^\.Sh |\Z)" % re.escape(name), text, re.M | re.S)
    assert m, "no .Sh %s section" % name
    return m.group(1)


def blocks(text, macro):
    """{name: source} for each line starting with macro (".It Ic", ".Ss"),
    up to the next such line or section heading."""
    out = {}
    parts = re.split(r"^%s (\S+).*\n" % re.escape(macro), text, flags=re.M)
    for name, body in zip(parts[1::2], parts[2::2]):
        assert name not in out, "%s is documented twice" % name
        out[name] = re.split(r"^\.S[sh] ", body, flags=re.M)[0]
    return out


def parser_directives(binary):
    p = run([binary, "config", "directives"])
    assert p.returncode == 0, p.stderr
    rows = dict(line.split("\t", 1) for line in p.stdout.splitlines())
    assert len(rows) > 20, p.stdout  # the table, not an empty listing
    return rows


def test_mandoc_lint_clean():
    assert shutil.which("mandoc"), "mandoc is missing; install it: scripts/deps.sh --test"
    # Run in man/, where mandoc looks first for the pages the two .Xr each other.
    p = run(["mandoc", "-Tlint", "mailport.8", "mailport.conf.5"], cwd=MAN)
    problems = [ln for ln in (p.stdout + p.stderr).splitlines() if "mailport" in ln]
    assert p.returncode == 0 and not problems, p.stdout + p.stderr


def test_every_directive_documented_and_no_other(mailport_bin):
    known = parser_directives(mailport_bin)
    with open(CONF5) as f:
        documented = blocks(section(f.read(), "DIRECTIVES"), ".It Ic")
    missing = sorted(set(known) - set(documented))
    unknown = sorted(set(documented) - set(known))
    assert not missing, "mailport.conf.5 lacks these directives (the parser's usage):\n" + \
        "\n".join("  %s: %s" % (n, known[n]) for n in missing)
    assert not unknown, "mailport.conf.5 documents directives the parser does not know: %s" % \
        unknown


def test_each_directive_has_default_and_example(mailport_bin):
    with open(CONF5) as f:
        documented = blocks(section(f.read(), "DIRECTIVES"), ".It Ic")
    for name, body in documented.items():
        assert "Default:" in body, "%s: no Default: sentence" % name
        assert re.search(r"^\.Dl %s( |$)" % re.escape(name), body, re.M), \
            "%s: no .Dl example line" % name


def test_examples_are_lines_the_parser_accepts(mailport_bin, workroot):
    """Every .Dl example of DIRECTIVES together in one file: no line is refused."""
    with open(CONF5) as f:
        text = section(f.read(), "DIRECTIVES")
    lines = re.findall(r"^\.Dl (.*)$", text, re.M)
    d = new_dir(workroot, "man-")
    conf = os.path.join(d, "mailport.conf")
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    p = run([mailport_bin, "config", "check", "-c", conf])
    # Parse errors name FILE:LINE; a missing key file or account only FILE.
    bad = [ln for ln in p.stderr.splitlines() if re.match(re.escape(conf) + r":\d+:", ln)]
    assert not bad, "\n".join(bad)
    assert p.returncode in (0, 78) and "unknown directive" not in p.stderr, p.stderr


def help_commands(binary):
    p = run([binary, "--help"])
    assert p.returncode == 0, p.stderr
    body = p.stdout.split("commands:\n", 1)[1]
    return re.findall(r"^  (\S+) ", body, re.M)


def help_surface(binary, command):
    """(options, actions) that `mailport COMMAND --help` names."""
    p = run([binary, command, "--help"])
    assert p.returncode == 0, p.stderr
    text = p.stdout
    opts = set(re.findall(r"(?<![\w-])(--[a-z0-9][a-z0-9-]*[a-z0-9])(?![\w*-])", text))
    usage, actions = [], set()
    for para in text.split("\n\n"):
        if para.lstrip().startswith("usage:"):
            usage.append(para)
            # The words after "usage: mailport CMD" up to the first option: actions.
            rest = re.match(r"\s*usage: mailport \S+(.*)", para, re.S).group(1)
            head = re.split(r"\s\[-|\s-", rest, maxsplit=1)[0]
            actions |= {w for w in re.split(r"[\s|]+", head) if re.fullmatch(r"[a-z]+", w)}
    for para in usage:
        opts |= set(re.findall(r"(?<![\w-])(-[a-zA-Z])(?![\w-])", para))
    opts |= set(re.findall(r"^\s+(-[a-zA-Z])\b", text, re.M))
    return opts - UNIVERSAL, actions


def test_every_command_documented_and_no_other(mailport_bin):
    commands = help_commands(mailport_bin)
    assert len(commands) >= 8, commands
    with open(MAN8) as f:
        documented = blocks(section(f.read(), "COMMANDS"), ".Ss")
    assert sorted(documented) == sorted(commands), \
        "mailport.8 COMMANDS has %s; mailport --help lists %s" % (sorted(documented),
                                                                  sorted(commands))


def test_every_option_and_action_documented(mailport_bin):
    with open(MAN8) as f:
        documented = blocks(section(f.read(), "COMMANDS"), ".Ss")
    problems = []
    for command in help_commands(mailport_bin):
        opts, actions = help_surface(mailport_bin, command)
        src = "".join(documented.get(c, "") for c in [command] + SHARED_SECTIONS.get(command, []))
        # ".Fl -server" renders as --server, ".Fl c" as -c.
        flags = {"-" + f for f in re.findall(r"\bFl (\S+)", src)}
        for o in sorted(opts - flags):
            problems.append("%s: option %s is not in its section" % (command, o))
        for a in sorted(actions):
            if not re.search(r"\bCm\b[^\n]*\b%s\b" % a, src):
                problems.append("%s: action %s is not in its section" % (command, a))
    assert not problems, "\n".join(problems)
