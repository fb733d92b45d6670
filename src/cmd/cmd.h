/*
 * cmd: the subcommands. Each parses its own options, wires the modules it
 * needs and returns a sysexits(3) code (DESIGN.md "Exit codes").
 */
#ifndef MP_CMD_H
#define MP_CMD_H

int cmd_serve(int argc, char **argv);
int cmd_passwd(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_sendmail(int argc, char **argv);
int cmd_queue(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_auth(int argc, char **argv);
int cmd_dkim(int argc, char **argv);
int cmd_mta_sts(int argc, char **argv);

#endif
