#include "common/thread.h"

#include <pthread.h>
#include <sched.h>

namespace hybridgate {

void NameThisThread(const char* name) {
  char cut[16] = {};
  for (size_t i = 0; i + 1 < sizeof cut && name[i] != '\0'; ++i) cut[i] = name[i];
  pthread_setname_np(pthread_self(), cut);
}

void MarkBackgroundThread(const char* name) {
  NameThisThread(name);
  sched_param param{};
  param.sched_priority = 0;
  // Best effort: without it the thread is an ordinary one, which is only slower for others.
  pthread_setschedparam(pthread_self(), SCHED_BATCH, &param);
}

}  // namespace hybridgate
