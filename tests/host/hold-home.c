/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hold-home USER SECRET: AcquireHome, print "held", keep the returned fd
 * until standard input reaches its end — as a login session would. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <systemd/sd-bus.h>

#include "bus-names.h"

int main(int argc, char *argv[]) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        sd_bus *bus = NULL;
        int fd, r;
        char c;

        if (argc != 3) {
                fprintf(stderr, "usage: hold-home USER SECRET\n");
                return 2;
        }
        r = sd_bus_open_system(&bus);
        /* An activation under emulation on a loaded machine takes longer
         * than sd-bus's default 25 s; homectl waits as long. */
        if (r >= 0)
                r = sd_bus_set_method_call_timeout(bus, UINT64_C(300) * 1000000);
        if (r >= 0)
                r = sd_bus_call_method(bus, HOME1_BUS_NAME, HOME1_MANAGER_PATH, HOME1_MANAGER_INTERFACE,
                                       "AcquireHome", &error, &reply, "ssb", argv[1],
                                       argv[2], 0);
        if (r >= 0)
                r = sd_bus_message_read(reply, "h", &fd);
        if (r < 0 || (fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0) {
                fprintf(stderr, "AcquireHome: %s\n", error.message ?: "failed");
                return 1;
        }
        sd_bus_message_unref(reply);
        sd_bus_flush_close_unref(bus);
        printf("held\n");
        fflush(stdout);
        while (read(STDIN_FILENO, &c, 1) > 0)
                ;
        close(fd);
        return 0;
}
