/* The pod sandbox's pause process for the VM tier's nodes (registry.k8s.io/pause is not reachable here):
 * it holds the pod's namespaces, reaps the zombies it inherits as PID 1, and exits on SIGINT/SIGTERM
 * so the runtime can stop the sandbox at once. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) { _exit(128 + sig); }

static void reap(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction act = {0};
  act.sa_handler = stop;
  sigaction(SIGINT, &act, NULL);
  sigaction(SIGTERM, &act, NULL);
  act.sa_handler = reap;
  act.sa_flags = SA_NOCLDSTOP | SA_RESTART;
  sigaction(SIGCHLD, &act, NULL);
  for (;;) pause();
  return 0;
}
