#include "common/thread.h"

#include <pthread.h>
#include <sched.h>

namespace hybridgate {

void MarkBackgroundThread(const char* name) {
  pthread_setname_np(pthread_self(), name);  // fails only for names over 15 characters
  sched_param param{};
  param.sched_priority = 0;
  // Best effort: without it the thread is an ordinary one, which is only slower for others.
  pthread_setschedparam(pthread_self(), SCHED_BATCH, &param);
}

}  // namespace hybridgate
