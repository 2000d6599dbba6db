#include "stop.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static jt_stop_flag stop_requested;

static void on_signal(int sig) {
    if (stop_requested) _exit(128 + sig); /* second signal: give up at once */
    stop_requested = 1;
    static const char msg[] = "\njatp: stopping after this step (writing a checkpoint); press Ctrl-C again to abort\n";
    ssize_t r = write(2, msg, sizeof msg - 1);
    (void)r;
}

jt_stop_flag *cli_stop_flag_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return &stop_requested;
}
