/* video_read.c — decoding videos with libavformat/libavcodec into u8
 * frames [T,H,W,3].
 *
 * At open the stream is demuxed once, without decoding, to count its frames
 * and keep their presentation timestamps in order: the count is then exact
 * (containers often store none, or a wrong one), a truncated file shows up
 * before any pixel is used, and frame i has a timestamp a seek can aim at.
 * The demuxer is then opened afresh and the first frame decoded. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media.h"

void orr_video_read_params_init(orr_video_read_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->fit = ORR_FIT_COVER;
    p->default_fps = 24;
    p->count = -1;
}

#if ORR_HAVE_FFMPEG
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/mem.h>

/* Reads go through FFmpeg's AVIO in blocks of this size. */
#define IO_BLOCK 32768

struct orr_video_reader {
    char *name;   /* the path or the memory name, for messages */
    char *url;    /* "file:" + path (so no ':' in a name reads as a protocol); NULL for memory */
    uint8_t *mem; /* memory mode: the copied buffer */
    size_t mem_size;
    int64_t mem_pos;
    orr_video_read_params params;

    AVFormatContext *fmt;
    AVIOContext *io;
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frame;
    int stream;

    int64_t *pts; /* frame index -> presentation timestamp; NULL when the stream lacks usable ones */
    int64_t next;         /* the index of the frame the next read returns */
    bool pending;         /* `frame` holds frame `next`, decoded but not returned */
    bool flushed;         /* the decoder has been told the stream ended */
    orr_picture_scaler *scaler;
    orr_metadata *meta;
    orr_video_info info;
};

/* ---- the demuxer and decoder ------------------------------------------------ */

static int mem_read(void *opaque, uint8_t *buf, int size) {
    orr_video_reader *r = opaque;
    int64_t left = (int64_t)r->mem_size - r->mem_pos;
    if (left <= 0) return AVERROR_EOF;
    int n = left < size ? (int)left : size;
    memcpy(buf, r->mem + r->mem_pos, (size_t)n);
    r->mem_pos += n;
    return n;
}

static int64_t mem_seek(void *opaque, int64_t offset, int whence) {
    orr_video_reader *r = opaque;
    if (whence & AVSEEK_SIZE) return (int64_t)r->mem_size;
    whence &= ~AVSEEK_FORCE;
    int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? r->mem_pos : whence == SEEK_END ? (int64_t)r->mem_size : -1;
    if (base < 0 || offset > (int64_t)r->mem_size - base || base + offset < 0) return AVERROR(EINVAL);
    r->mem_pos = base + offset;
    return r->mem_pos;
}

/* A buffer in memory is one file: demuxers that would open others (image
 * sequences, playlists) are refused. */
static int refuse_open(AVFormatContext *s, AVIOContext **pb, const char *url, int flags, AVDictionary **options) {
    (void)s, (void)pb, (void)url, (void)flags, (void)options;
    return AVERROR(EPERM);
}

static void demux_close(orr_video_reader *r) {
    avcodec_free_context(&r->dec);
    avformat_close_input(&r->fmt);
    if (r->io) {
        av_freep(&r->io->buffer);
        avio_context_free(&r->io);
    }
    r->pending = false;
    r->flushed = false;
    r->next = 0;
}

static orr_status open_error(orr_video_reader *r, int code, const char *what) {
    char text[ORR_AV_ERROR_SIZE];
    orr_av_error(code, text);
    if (code == AVERROR(ENOENT) || code == AVERROR(EACCES) || code == AVERROR(EISDIR) || code == AVERROR(EIO))
        return orr_error(ORR_ERR_IO, "video: %s: cannot open: %s", r->name, text);
    return orr_error(ORR_ERR_FORMAT, "video: %s: %s: %s", r->name, what, text);
}

static orr_status open_decoder(orr_video_reader *r) {
    AVStream *st = r->fmt->streams[r->stream];
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    if (!codec)
        return orr_error(ORR_ERR_UNSUPPORTED, "video: %s: FFmpeg has no decoder for %s", r->name,
                         avcodec_get_name(st->codecpar->codec_id));
    if (!(r->dec = avcodec_alloc_context3(codec))) return orr_error(ORR_ERR_MEMORY, "video: %s: out of memory", r->name);
    int ret = avcodec_parameters_to_context(r->dec, st->codecpar);
    if (ret < 0) return open_error(r, ret, "bad codec parameters");
    r->dec->pkt_timebase = st->time_base;
    r->dec->thread_count = orr_get_num_threads();
    if ((ret = avcodec_open2(r->dec, codec, NULL)) < 0) return open_error(r, ret, "cannot start the decoder");
    return ORR_OK;
}

/* Opens the container, finds the video stream and starts its decoder. */
static orr_status demux_open(orr_video_reader *r) {
    orr_av_log_begin();
    if (!(r->fmt = avformat_alloc_context())) return orr_error(ORR_ERR_MEMORY, "video: %s: out of memory", r->name);
    AVDictionary *opts = NULL;
    /* Streams that store no rate (image sequences, raw streams) get this. */
    char rate[32];
    snprintf(rate, sizeof rate, "%.6g", r->params.default_fps);
    av_dict_set(&opts, "framerate", rate, 0);
    if (r->mem) {
        r->mem_pos = 0;
        uint8_t *block = av_malloc(IO_BLOCK);
        if (!block || !(r->io = avio_alloc_context(block, IO_BLOCK, 0, r, mem_read, NULL, mem_seek))) {
            av_free(block);
            av_dict_free(&opts);
            return orr_error(ORR_ERR_MEMORY, "video: %s: out of memory", r->name);
        }
        r->fmt->pb = r->io;
        r->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
        r->fmt->io_open = refuse_open;
    } else {
        av_dict_set(&opts, "protocol_whitelist", "file", 0);
    }
    int ret = avformat_open_input(&r->fmt, r->mem ? r->name : r->url, NULL, &opts);
    av_dict_free(&opts);
    if (ret < 0) return open_error(r, ret, "not a video FFmpeg can read");
    if ((ret = avformat_find_stream_info(r->fmt, NULL)) < 0) return open_error(r, ret, "cannot find its streams");
    ret = av_find_best_stream(r->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (ret < 0) return orr_error(ORR_ERR_FORMAT, "video: %s: holds no video stream", r->name);
    r->stream = ret;
    for (unsigned i = 0; i < r->fmt->nb_streams; i++)
        if ((int)i != r->stream) r->fmt->streams[i]->discard = AVDISCARD_ALL;
    return open_decoder(r);
}

/* Back to the start of the stream. A failure leaves the reader closed
 * (r->dec NULL), which the public calls report. */
static orr_status demux_restart(orr_video_reader *r) {
    demux_close(r);
    orr_status status = demux_open(r);
    if (status) demux_close(r);
    return status;
}

/* ---- counting ------------------------------------------------------------------ */

static int compare_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Demuxes every packet of the stream once: the frame count and the sorted
 * timestamps (kept only when every frame has a distinct one). */
static orr_status count_frames(orr_video_reader *r) {
    int64_t n = 0, cap = 0;
    bool timed = true;
    int ret;
    while ((ret = av_read_frame(r->fmt, r->pkt)) >= 0) {
        int64_t ts = r->pkt->pts != AV_NOPTS_VALUE ? r->pkt->pts : r->pkt->dts;
        bool mine = r->pkt->stream_index == r->stream, corrupt = r->pkt->flags & AV_PKT_FLAG_CORRUPT;
        bool shown = !(r->pkt->flags & AV_PKT_FLAG_DISCARD);
        av_packet_unref(r->pkt);
        if (!mine) continue;
        if (corrupt)
            return orr_error(ORR_ERR_FORMAT, "video: %s: frame %lld is cut short (a truncated or damaged file)",
                             r->name, (long long)n);
        if (!shown) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            int64_t *grown = realloc(r->pts, (size_t)cap * sizeof *grown);
            if (!grown) return orr_error(ORR_ERR_MEMORY, "video: %s: out of memory counting frames", r->name);
            r->pts = grown;
        }
        timed = timed && ts != AV_NOPTS_VALUE;
        r->pts[n++] = ts;
    }
    if (ret != AVERROR_EOF) return open_error(r, ret, "reading frame packets");
    if (n == 0) return orr_error(ORR_ERR_FORMAT, "video: %s: its video stream holds no frames", r->name);
    int64_t declared = r->fmt->streams[r->stream]->nb_frames;
    if (declared > n)
        return orr_error(ORR_ERR_FORMAT, "video: %s: the container lists %lld frames but holds %lld (truncated?)",
                         r->name, (long long)declared, (long long)n);
    if (timed) {
        qsort(r->pts, (size_t)n, sizeof *r->pts, compare_i64);
        for (int64_t i = 1; i < n && timed; i++) timed = r->pts[i] > r->pts[i - 1];
    }
    if (!timed) {
        free(r->pts);
        r->pts = NULL;
    }
    r->info.frames = n;
    return ORR_OK;
}

/* ---- decoding ------------------------------------------------------------------ */

/* Decodes the next frame into r->frame: 1 when one came, 0 at the end. */
static orr_status decode_next(orr_video_reader *r, int *got) {
    char text[ORR_AV_ERROR_SIZE];
    *got = 0;
    orr_av_log_begin();
    for (;;) {
        av_frame_unref(r->frame);
        int ret = avcodec_receive_frame(r->dec, r->frame);
        if (ret == 0) {
            *got = 1;
            return ORR_OK;
        }
        if (ret == AVERROR_EOF) return ORR_OK;
        if (ret != AVERROR(EAGAIN))
            return orr_error(ORR_ERR_FORMAT, "video: %s: frame %lld cannot be decoded: %s", r->name,
                             (long long)r->next, orr_av_error(ret, text));
        if (r->flushed) return ORR_OK;
        while ((ret = av_read_frame(r->fmt, r->pkt)) >= 0 && r->pkt->stream_index != r->stream)
            av_packet_unref(r->pkt);
        if (ret < 0 && ret != AVERROR_EOF)
            return orr_error(ORR_ERR_IO, "video: %s: reading frame %lld: %s", r->name, (long long)r->next,
                             orr_av_error(ret, text));
        r->flushed = ret == AVERROR_EOF;
        ret = avcodec_send_packet(r->dec, r->flushed ? NULL : r->pkt);
        av_packet_unref(r->pkt);
        if (ret < 0 && ret != AVERROR(EAGAIN) && ret != AVERROR_EOF)
            return orr_error(ORR_ERR_FORMAT, "video: %s: frame %lld is damaged: %s", r->name, (long long)r->next,
                             orr_av_error(ret, text));
    }
}

/* The index of the decoded frame: by its timestamp when the stream has a
 * table of them (so a frame the decoder dropped does not shift the rest). */
static int64_t frame_index(const orr_video_reader *r) {
    int64_t ts = r->frame->best_effort_timestamp;
    if (!r->pts || ts == AV_NOPTS_VALUE) return r->next;
    int64_t lo = 0, hi = r->info.frames;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (r->pts[mid] < ts) lo = mid + 1;
        else hi = mid;
    }
    return lo < r->info.frames && r->pts[lo] == ts ? lo : r->next;
}

/* Makes r->frame hold frame r->next: *got 0 at the end of the stream. */
static orr_status take_frame(orr_video_reader *r, int *got) {
    if (r->pending) {
        r->pending = false;
        *got = 1;
        return ORR_OK;
    }
    orr_status status = decode_next(r, got);
    if (!status && *got) r->next = frame_index(r);
    return status;
}

/* Decodes and drops frames until frame `index` is pending. */
static orr_status skip_to(orr_video_reader *r, int64_t index) {
    int got = 1;
    orr_status status = ORR_OK;
    while (!status && got) {
        if ((status = take_frame(r, &got)) || !got) break;
        if (r->next >= index) {
            r->pending = true;
            return ORR_OK;
        }
        r->next++;
    }
    if (status) return status;
    return orr_error(ORR_ERR_FORMAT, "video: %s: the stream ended at frame %lld, before frame %lld", r->name,
                     (long long)r->next, (long long)index);
}

static orr_status convert_frame(orr_video_reader *r, uint8_t *dst) {
    const AVFrame *f = r->frame;
    orr_status status = orr_picture_scale(r->scaler, (const uint8_t *const *)f->data, f->linesize, f->width,
                                          f->height, f->format, f->colorspace, f->color_range == AVCOL_RANGE_JPEG,
                                          dst, r->info.width * 3);
    if (status) return orr_error_context(status, "video: %s: frame %lld: ", r->name, (long long)r->next);
    return ORR_OK;
}

/* ---- opening -------------------------------------------------------------------- */

static orr_status read_metadata(orr_video_reader *r) {
    const AVDictionaryEntry *e = NULL;
    orr_status status = ORR_OK;
    while (!status && (e = av_dict_get(r->fmt->metadata, "", e, AV_DICT_IGNORE_SUFFIX)))
        status = orr_metadata_set(r->meta, e->key, e->value);
    /* The frame's own text (PNG tEXt) where the container says nothing. */
    e = NULL;
    while (!status && (e = av_dict_get(r->frame->metadata, "", e, AV_DICT_IGNORE_SUFFIX)))
        if (!orr_metadata_get(r->meta, e->key)) status = orr_metadata_set(r->meta, e->key, e->value);
    return status ? orr_error_context(status, "video: %s: ", r->name) : ORR_OK;
}

static double stream_fps(const orr_video_reader *r) {
    const AVStream *st = r->fmt->streams[r->stream];
    AVRational rate = st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0 ? st->avg_frame_rate : st->r_frame_rate;
    double fps = rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 0;
    int64_t n = r->info.frames;
    if (!(fps > 0) && r->pts && n > 1 && r->pts[n - 1] > r->pts[0])
        fps = (double)(n - 1) / ((double)(r->pts[n - 1] - r->pts[0]) * av_q2d(st->time_base));
    return fps > 0 && isfinite(fps) ? fps : r->params.default_fps;
}

/* The frame size to read at: the source's, the one asked for, or the one
 * asked for in one dimension with the other following the aspect ratio. */
static orr_status output_size(orr_video_reader *r) {
    int64_t sw = r->dec->width, sh = r->dec->height, w = r->params.width, h = r->params.height;
    if (sw < 1 || sh < 1)
        return orr_error(ORR_ERR_FORMAT, "video: %s: the stream has no frame size (%lldx%lld)", r->name,
                         (long long)sw, (long long)sh);
    if (!w && !h) w = sw, h = sh;
    else if (!w) w = (int64_t)fmax(1, llround((double)h * sw / sh));
    else if (!h) h = (int64_t)fmax(1, llround((double)w * sh / sw));
    if (w > 16384 || h > 16384)
        return orr_error(ORR_ERR_ARGUMENT, "video: %s: frames of %lldx%lld are beyond 16384x16384", r->name,
                         (long long)w, (long long)h);
    r->info.width = w;
    r->info.height = h;
    r->info.source_width = sw;
    r->info.source_height = sh;
    return orr_picture_scaler_create((int)w, (int)h, 3, r->params.fit, &r->scaler);
}

static orr_status check_params(const char *name, const orr_video_read_params *p) {
    if (p->width < 0 || p->height < 0)
        return orr_error(ORR_ERR_ARGUMENT, "video: %s: width %lld and height %lld must be >= 0", name,
                         (long long)p->width, (long long)p->height);
    if (p->fit != ORR_FIT_COVER && p->fit != ORR_FIT_STRETCH)
        return orr_error(ORR_ERR_ARGUMENT, "video: %s: fit %d is not an orr_fit", name, (int)p->fit);
    if (!(p->default_fps > 0 && isfinite(p->default_fps)))
        return orr_error(ORR_ERR_ARGUMENT, "video: %s: default_fps %g must be positive", name, p->default_fps);
    if (p->start < 0 || p->count < -1 || !(p->fps >= 0 && isfinite(p->fps)))
        return orr_error(ORR_ERR_ARGUMENT, "video: %s: start %lld, count %lld or fps %g is out of range", name,
                         (long long)p->start, (long long)p->count, p->fps);
    return ORR_OK;
}

static orr_status open_reader(orr_video_reader *r) {
    orr_status status;
    if ((status = demux_open(r)) || (status = count_frames(r)) || (status = demux_restart(r))) return status;
    int got;
    if ((status = take_frame(r, &got))) return status;
    if (!got) return orr_error(ORR_ERR_FORMAT, "video: %s: no frame can be decoded", r->name);
    r->pending = true;
    if ((status = output_size(r)) || (status = read_metadata(r))) return status;
    r->info.fps = stream_fps(r);
    r->info.duration = (double)r->info.frames / r->info.fps;
    snprintf(r->info.codec, sizeof r->info.codec, "%s", avcodec_get_name(r->dec->codec_id));
    snprintf(r->info.format, sizeof r->info.format, "%s", r->fmt->iformat->name);
    return ORR_OK;
}

static orr_status reader_create(const char *name, const orr_video_read_params *params, orr_video_reader **out) {
    orr_video_read_params defaults;
    orr_video_read_params_init(&defaults);
    if (!params) params = &defaults;
    orr_status status = check_params(name, params);
    if (status) return status;
    orr_video_reader *r = calloc(1, sizeof *r);
    if (!r) return orr_error(ORR_ERR_MEMORY, "video: %s: out of memory", name);
    r->params = *params;
    if (!(r->name = strdup(name)) || !(r->pkt = av_packet_alloc()) || !(r->frame = av_frame_alloc()) ||
        orr_metadata_create(&r->meta)) {
        orr_video_close(r);
        return orr_error(ORR_ERR_MEMORY, "video: %s: out of memory", name);
    }
    *out = r;
    return ORR_OK;
}

static orr_status finish_open(orr_video_reader *r, orr_video_reader **out) {
    orr_status status = open_reader(r);
    if (status) {
        orr_video_close(r);
        return status;
    }
    *out = r;
    return ORR_OK;
}

orr_status orr_video_open(const char *path, const orr_video_read_params *params, orr_video_reader **out) {
    if (!path || !out) return orr_error(ORR_ERR_ARGUMENT, "video: open: %s is NULL", !path ? "path" : "out");
    *out = NULL;
    orr_video_reader *r;
    orr_status status = reader_create(path, params, &r);
    if (status) return status;
    size_t n = strlen(path) + 6;
    if (!(r->url = malloc(n))) {
        orr_video_close(r);
        return orr_error(ORR_ERR_MEMORY, "video: %s: out of memory", path);
    }
    snprintf(r->url, n, "file:%s", path);
    return finish_open(r, out);
}

orr_status orr_video_open_memory(const void *data, size_t size, const char *name,
                                 const orr_video_read_params *params, orr_video_reader **out) {
    if (!out) return orr_error(ORR_ERR_ARGUMENT, "video: open_memory: out is NULL");
    *out = NULL;
    if (!name) name = "(memory)";
    if (!data || !size) return orr_error(ORR_ERR_FORMAT, "video: %s: the buffer is empty", name);
    orr_video_reader *r;
    orr_status status = reader_create(name, params, &r);
    if (status) return status;
    if (!(r->mem = malloc(size))) {
        orr_video_close(r);
        return orr_error(ORR_ERR_MEMORY, "video: %s: out of memory for %zu bytes", name, size);
    }
    memcpy(r->mem, data, size);
    r->mem_size = size;
    return finish_open(r, out);
}

void orr_video_close(orr_video_reader *r) {
    if (!r) return;
    demux_close(r);
    av_packet_free(&r->pkt);
    av_frame_free(&r->frame);
    orr_picture_scaler_free(r->scaler);
    orr_metadata_free(r->meta);
    free(r->pts);
    free(r->mem);
    free(r->url);
    free(r->name);
    free(r);
}

void orr_video_get_info(const orr_video_reader *r, orr_video_info *out) {
    if (!out) return;
    if (r) *out = r->info;
    else memset(out, 0, sizeof *out);
}

const orr_metadata *orr_video_metadata(const orr_video_reader *r) { return r ? r->meta : NULL; }

int64_t orr_video_position(const orr_video_reader *r) { return r ? r->next : 0; }

/* ---- seeking and reading ----------------------------------------------------------- */

/* A jump this short (in frames) decodes forward rather than seeking. */
#define SHORT_JUMP 16

/* Seeks the demuxer to the key frame before the target's timestamp, then
 * decodes forward to it; false when the container cannot seek there. */
static orr_status seek_by_timestamp(orr_video_reader *r, int64_t index, bool *done) {
    *done = false;
    if (av_seek_frame(r->fmt, r->stream, r->pts[index], AVSEEK_FLAG_BACKWARD) < 0) return ORR_OK;
    avcodec_flush_buffers(r->dec);
    r->pending = false;
    r->flushed = false;
    int got;
    orr_status status = decode_next(r, &got);
    if (status || !got) return status;
    r->next = frame_index(r);
    /* A demuxer that landed past the target (imprecise index) is not used. */
    if (r->frame->best_effort_timestamp == AV_NOPTS_VALUE || r->frame->best_effort_timestamp > r->pts[index])
        return ORR_OK;
    r->pending = true;
    *done = true;
    return skip_to(r, index);
}

orr_status orr_video_seek(orr_video_reader *r, int64_t index) {
    if (!r) return orr_error(ORR_ERR_ARGUMENT, "video: seek: r is NULL");
    if (index < 0 || index >= r->info.frames)
        return orr_error(ORR_ERR_ARGUMENT, "video: %s: cannot seek to frame %lld of %lld", r->name, (long long)index,
                         (long long)r->info.frames);
    if (!r->dec) return orr_error(ORR_ERR_IO, "video: %s: the reader failed to reopen the file", r->name);
    if (index == r->next) return ORR_OK;
    if (index > r->next && index - r->next <= SHORT_JUMP) return skip_to(r, index);
    orr_status status;
    if (r->pts) {
        bool done;
        if ((status = seek_by_timestamp(r, index, &done)) || done) return status;
    }
    if ((status = demux_restart(r))) return status;
    return skip_to(r, index);
}

/* Checks that out is u8 [T,height,width,3]. */
static orr_status check_output(const orr_video_reader *r, const orr_tensor *out) {
    int64_t t, h, w, c;
    char desc[200];
    orr_status status = orr_frames_check("video_read", "out", out, false, &t, &h, &w, &c);
    if (status) return status;
    if (h != r->info.height || w != r->info.width || c != 3)
        return orr_error(ORR_ERR_SHAPE, "video_read: out is %s but %s has frames [%lld,%lld,3]",
                         orr_tensor_describe(out, desc, sizeof desc), r->name, (long long)r->info.height,
                         (long long)r->info.width);
    return ORR_OK;
}

/* Decodes the next frame into dst (a packed [H,W,3] frame); *got 0 at the end. */
static orr_status read_one(orr_video_reader *r, uint8_t *dst, int *got) {
    orr_status status = take_frame(r, got);
    if (status || !*got) return status;
    if ((status = convert_frame(r, dst))) return status;
    r->next++;
    return ORR_OK;
}

orr_status orr_video_read(orr_video_reader *r, orr_tensor *out, int64_t *n_read) {
    if (!r || !n_read) return orr_error(ORR_ERR_ARGUMENT, "video_read: %s is NULL", !r ? "r" : "n_read");
    *n_read = 0;
    orr_status status = check_output(r, out);
    if (status) return status;
    if (!r->dec) return orr_error(ORR_ERR_IO, "video: %s: the reader failed to reopen the file", r->name);
    int64_t frame_bytes = r->info.height * r->info.width * 3;
    bool direct = orr_tensor_is_contiguous(out);
    orr_tensor *scratch = NULL;
    if (!direct && (status = orr_tensor_empty(&scratch, ORR_U8, 3, out->shape + 1))) return status;
    int got = 1;
    for (int64_t i = 0; i < out->shape[0] && !status; i++) {
        uint8_t *dst = direct ? (uint8_t *)out->data + i * frame_bytes : scratch->data;
        if ((status = read_one(r, dst, &got)) || !got) break;
        if (!direct) {
            orr_tensor *slot = NULL;
            status = orr_tensor_select(&slot, out, 0, i);
            if (!status) status = orr_copy(slot, scratch);
            orr_tensor_free(slot);
        }
        if (!status) *n_read = i + 1;
    }
    orr_tensor_free(scratch);
    return status;
}

/* Reads the frames orr_video_load's params select into `frames`. */
static orr_status load_frames(orr_video_reader *r, const orr_video_read_params *p, orr_tensor **frames,
                              double *fps) {
    int64_t n = r->info.frames;
    if (p->start >= n)
        return orr_error(ORR_ERR_ARGUMENT, "video: %s: start %lld is past its last frame (%lld)", r->name,
                         (long long)p->start, (long long)(n - 1));
    *fps = p->fps > 0 ? p->fps : r->info.fps;
    /* How many output frames fall before the end of the source. */
    double estimate = ceil((double)(n - p->start) * *fps / r->info.fps) + 1;
    if (estimate > 1e8)
        return orr_error(ORR_ERR_ARGUMENT, "video: %s: %g fps from %g fps would make %.3g frames", r->name, *fps,
                         r->info.fps, estimate);
    int64_t t = (int64_t)estimate;
    while (t > 0 && p->start + orr_frames_source_index(t - 1, r->info.fps, *fps) >= n) t--;
    if (p->count >= 0 && p->count < t) t = p->count;
    int64_t shape[4] = {t, r->info.height, r->info.width, 3};
    orr_status status = orr_tensor_empty(frames, ORR_U8, 4, shape);
    if (status || t == 0 || (status = orr_video_seek(r, p->start))) return status;
    int64_t frame_bytes = shape[1] * shape[2] * 3;
    uint8_t *data = (*frames)->data;
    for (int64_t j = 0; j < t && !status; j++) {
        int64_t k = p->start + orr_frames_source_index(j, r->info.fps, *fps);
        if (j > 0 && k == r->next - 1) {
            memcpy(data + j * frame_bytes, data + (j - 1) * frame_bytes, (size_t)frame_bytes);
            continue;
        }
        int got = 1;
        if (k != r->next) status = orr_video_seek(r, k);
        if (!status) status = read_one(r, data + j * frame_bytes, &got);
        if (!status && !got)
            status = orr_error(ORR_ERR_FORMAT, "video: %s: the stream ended before frame %lld", r->name, (long long)k);
    }
    return status;
}

orr_status orr_video_load(const char *path, const orr_video_read_params *params, orr_tensor **frames,
                          orr_video_info *info, orr_metadata *metadata) {
    if (!frames) return orr_error(ORR_ERR_ARGUMENT, "video: load: frames is NULL");
    *frames = NULL;
    orr_video_read_params defaults;
    orr_video_read_params_init(&defaults);
    if (!params) params = &defaults;
    orr_video_reader *r;
    orr_status status = orr_video_open(path, params, &r);
    if (status) return status;
    double fps = 0;
    status = load_frames(r, params, frames, &fps);
    for (int64_t i = 0; !status && metadata && i < orr_metadata_count(r->meta); i++)
        status = orr_metadata_set(metadata, orr_metadata_key(r->meta, i), orr_metadata_value(r->meta, i));
    if (!status && info) {
        *info = r->info;
        info->frames = (*frames)->shape[0];
        info->fps = fps;
        info->duration = (double)info->frames / fps;
    }
    if (status) {
        orr_tensor_free(*frames);
        *frames = NULL;
    }
    orr_video_close(r);
    return status;
}
#endif
