# The two commands: `make run` and `make test` (see README.md).
# CMake + Ninja underneath; `make` alone builds build/mailport.

BUILD      ?= build
TEST_BUILD ?= build-test
CONFIG     ?= etc/mailport.conf

.PHONY: all deps run test unit fuzz integration format clean bench install uninstall deb

# make install [PREFIX=/usr/local] [DESTDIR=...] [SENDMAIL_LINK=yes]
# The binary, the man pages and the systemd unit go under PREFIX. The config
# goes to /etc/mailport whatever PREFIX is, because that is where the binary
# looks for it (-c overrides), and it is never overwritten; the spool and
# mailboxes folders the unit may write go under /var. SENDMAIL_LINK=yes adds
# SBINDIR/sendmail -> mailport (mailport run as "sendmail" is sendmail);
# it is off by default because /usr/sbin/sendmail belongs to the system's
# MTA (exim4 or postfix on Debian), which it would shadow or replace.
PREFIX        ?= /usr/local
DESTDIR       ?=
SBINDIR       ?= $(PREFIX)/sbin
MANDIR        ?= $(PREFIX)/share/man
DOCDIR        ?= $(PREFIX)/share/doc/mailport
UNITDIR       ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR    ?= /etc
SPOOLDIR      ?= /var/spool/mailport
MAILDIR       ?= /var/mail/mailport
SENDMAIL_LINK ?= no

all: $(BUILD)/build.ninja
	cmake --build $(BUILD)

$(BUILD)/build.ninja:
	@scripts/deps.sh
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

deps:
	scripts/deps.sh

run: all
	@scripts/run.sh $(BUILD) $(CONFIG)

# The test build: clang, ASan + UBSan, libFuzzer harnesses.
$(TEST_BUILD)/build.ninja:
	@scripts/deps.sh --test
	CC=clang cmake -S . -B $(TEST_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug \
		-DMP_SANITIZE=ON -DMP_FUZZ=ON

test: $(TEST_BUILD)/build.ninja all
	@scripts/deps.sh --test
	@scripts/install-peers.sh
	cmake --build $(TEST_BUILD)
	scripts/test.sh $(TEST_BUILD)

# Benchmark against a private Postfix on loopback (root); see bench/RESULTS.md.
bench: all
	/usr/bin/python3 bench/bench.py
	/usr/bin/python3 bench/outbound_bench.py
	/usr/bin/python3 bench/auth_bench.py
	/usr/bin/python3 bench/lmtp_bench.py
	/usr/bin/python3 bench/dane_bench.py
	/usr/bin/python3 bench/mta_sts_bench.py

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)/examples
	install -m 0755 $(BUILD)/mailport $(DESTDIR)$(SBINDIR)/mailport
	install -m 0644 man/mailport.8 $(DESTDIR)$(MANDIR)/man8/mailport.8
	install -m 0644 man/mailport.conf.5 $(DESTDIR)$(MANDIR)/man5/mailport.conf.5
	sed -e 's|/usr/sbin/mailport|$(SBINDIR)/mailport|' \
	    -e 's|/etc/mailport/|$(SYSCONFDIR)/mailport/|' \
	    -e 's|/var/spool/mailport|$(SPOOLDIR)|' -e 's|/var/mail/mailport|$(MAILDIR)|' \
	    contrib/systemd/mailport.service > $(DESTDIR)$(UNITDIR)/mailport.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/mailport.service
	sed -e 's|/etc/mailport/|$(SYSCONFDIR)/mailport/|' \
	    -e 's|/var/spool/mailport|$(SPOOLDIR)|' -e 's|/var/mail/mailport|$(MAILDIR)|' \
	    contrib/mailport.conf > $(DESTDIR)$(DOCDIR)/examples/mailport.conf
	chmod 0644 $(DESTDIR)$(DOCDIR)/examples/mailport.conf
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/mailport
	test -e $(DESTDIR)$(SYSCONFDIR)/mailport/mailport.conf || install -m 0644 \
		$(DESTDIR)$(DOCDIR)/examples/mailport.conf $(DESTDIR)$(SYSCONFDIR)/mailport/mailport.conf
	install -d -m 0700 $(DESTDIR)$(SPOOLDIR) $(DESTDIR)$(MAILDIR)
	if [ "$(SENDMAIL_LINK)" = yes ]; then ln -sf mailport $(DESTDIR)$(SBINDIR)/sendmail; fi

# make deb: a .deb of this tree (debian/, debhelper) in $(BUILD)/deb/,
# built from a copy so the tree gets no debian/ build files, and checked
# with lintian. The postinst makes the mailport user and state folders.
deb:
	@scripts/deps.sh --deb
	rm -rf $(BUILD)/deb && mkdir -p $(BUILD)/deb/mailport
	tar -cf - --exclude=./.git --exclude='./build*' --exclude=./var --exclude='./obj-*' \
		--exclude=./debian/mailport --exclude=./debian/.debhelper \
		--exclude=node_modules --exclude=__pycache__ . | tar -xf - -C $(BUILD)/deb/mailport
	cd $(BUILD)/deb/mailport && dpkg-buildpackage -b -us -uc
	lintian --fail-on error $(BUILD)/deb/*.deb
	@ls -1 $(BUILD)/deb/*.deb

# Leaves the config, the spool and the mailboxes.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/mailport $(DESTDIR)$(MANDIR)/man8/mailport.8 \
		$(DESTDIR)$(MANDIR)/man5/mailport.conf.5 $(DESTDIR)$(UNITDIR)/mailport.service \
		$(DESTDIR)$(DOCDIR)/examples/mailport.conf
	if [ -L $(DESTDIR)$(SBINDIR)/sendmail ] && \
	   [ "$$(readlink $(DESTDIR)$(SBINDIR)/sendmail)" = mailport ]; then \
		rm -f $(DESTDIR)$(SBINDIR)/sendmail; fi

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(TEST_BUILD)
