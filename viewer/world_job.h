/* world_job.h — what the viewer reads of a job besides its public state. */
#ifndef ORR_VIEWER_WORLD_JOB_H
#define ORR_VIEWER_WORLD_JOB_H

#include "orrery.h"

/* The video the job writes: read it only once the job is done. */
const orr_tensor *world_job_video(const orr_world_job *job);
/* The generated video's frame count and rate, known from the start. */
int world_job_frames(const orr_world_job *job);
double world_job_fps(const orr_world_job *job);

#endif
