/* video_write.c — encoding frames into a container with libavformat/
 * libavcodec, or into a PNG sequence. Output goes to temporary names that
 * finish renames into place, so an error or an unfinished writer leaves no
 * file behind. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "media.h"

void orr_video_write_params_init(orr_video_write_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->fps = 24;
    p->crf = 18;
    p->qscale = 2;
    p->preset = "medium";
}

#if ORR_HAVE_FFMPEG
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

struct orr_video_writer {
    char *path;
    char *what; /* "video: writing PATH", the start of every message */
    int64_t width, height;
    int64_t frames; /* added so far */
    bool failed, finished;
    uint8_t *rgb;     /* one packed frame when the input is not one already */
    orr_tensor *rgb_frame; /* u8 [H,W,3] over rgb */

    /* PNG sequence */
    bool sequence;
    orr_metadata *text;
    char **temps; /* frames written so far, under their temporary names */

    /* container */
    char *temp;
    AVFormatContext *oc;
    AVCodecContext *enc;
    AVStream *st;
    struct SwsContext *sws;
    AVFrame *picture;
    AVPacket *pkt;
};

/* ---- choosing --------------------------------------------------------------------- */

static bool ends_with_png(const char *path) {
    size_t n = strlen(path);
    return n >= 4 && strcasecmp(path + n - 4, ".png") == 0;
}

/* Picks the encoder: the one named, else libx264 where the container takes
 * H.264, else the container's default. */
static orr_status choose_encoder(const orr_video_writer *w, const AVOutputFormat *ofmt, const char *name,
                                 const AVCodec **out) {
    const AVCodec *codec = NULL;
    if (name) {
        if (!(codec = avcodec_find_encoder_by_name(name)) || codec->type != AVMEDIA_TYPE_VIDEO)
            return orr_error(ORR_ERR_UNSUPPORTED, "%s: FFmpeg has no video encoder '%s'", w->what, name);
    } else {
        if (avformat_query_codec(ofmt, AV_CODEC_ID_H264, FF_COMPLIANCE_NORMAL) == 1)
            codec = avcodec_find_encoder_by_name("libx264");
        if (!codec && ofmt->video_codec != AV_CODEC_ID_NONE) codec = avcodec_find_encoder(ofmt->video_codec);
        if (!codec)
            return orr_error(ORR_ERR_UNSUPPORTED, "%s: FFmpeg has no encoder for the %s container", w->what,
                             ofmt->name);
    }
    if (avformat_query_codec(ofmt, codec->id, FF_COMPLIANCE_NORMAL) == 0)
        return orr_error(ORR_ERR_UNSUPPORTED, "%s: the %s container cannot hold %s", w->what, ofmt->name,
                         codec->name);
    *out = codec;
    return ORR_OK;
}

/* yuv420p where the encoder takes it (what players expect), else the
 * encoder's format closest to RGB. */
static enum AVPixelFormat choose_pixel_format(const AVCodec *codec) {
    const enum AVPixelFormat *list = codec->pix_fmts;
    if (!list) return AV_PIX_FMT_YUV420P;
    for (const enum AVPixelFormat *p = list; *p != AV_PIX_FMT_NONE; p++)
        if (*p == AV_PIX_FMT_YUV420P) return *p;
    return avcodec_find_best_pix_fmt_of_list(list, AV_PIX_FMT_RGB24, 0, NULL);
}

static bool is_yuv(enum AVPixelFormat f) {
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f);
    return d && !(d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL)) && d->nb_components >= 3;
}

/* ---- opening ------------------------------------------------------------------------ */

static orr_status av_fail(const orr_video_writer *w, orr_status status, int code, const char *doing) {
    char text[ORR_AV_ERROR_SIZE];
    return orr_error(status, "%s: %s: %s", w->what, doing, orr_av_error(code, text));
}

/* Quality: CRF for the encoders that have one, else a fixed quantiser. */
static orr_status set_quality(orr_video_writer *w, const orr_video_write_params *p) {
    AVCodecContext *enc = w->enc;
    if (enc->priv_data && av_opt_find(enc->priv_data, "crf", NULL, 0, 0)) {
        int ret = av_opt_set_int(enc->priv_data, "crf", p->crf, 0);
        if (ret < 0) return av_fail(w, ORR_ERR_ARGUMENT, ret, "crf");
        if (p->preset && av_opt_find(enc->priv_data, "preset", NULL, 0, 0) &&
            (ret = av_opt_set(enc->priv_data, "preset", p->preset, 0)) < 0)
            return orr_error(ORR_ERR_ARGUMENT, "%s: %s has no preset '%s'", w->what, enc->codec->name, p->preset);
    } else {
        enc->flags |= AV_CODEC_FLAG_QSCALE;
        enc->global_quality = FF_QP2LAMBDA * p->qscale;
    }
    return ORR_OK;
}

static orr_status open_encoder(orr_video_writer *w, const AVCodec *codec, const orr_video_write_params *p) {
    enum AVPixelFormat format = choose_pixel_format(codec);
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(format);
    int wmask = (1 << d->log2_chroma_w) - 1, hmask = (1 << d->log2_chroma_h) - 1;
    if ((w->width & wmask) || (w->height & hmask))
        return orr_error(ORR_ERR_SHAPE, "%s: %s in %s needs a width and height divisible by %d and %d; the frames are %lldx%lld",
                         w->what, codec->name, d->name, wmask + 1, hmask + 1, (long long)w->width,
                         (long long)w->height);
    if (!(w->enc = avcodec_alloc_context3(codec))) return orr_error(ORR_ERR_MEMORY, "%s: out of memory", w->what);
    AVCodecContext *enc = w->enc;
    AVRational rate = av_d2q(p->fps, 1 << 20);
    enc->width = (int)w->width;
    enc->height = (int)w->height;
    enc->pix_fmt = format;
    enc->time_base = av_inv_q(rate);
    enc->framerate = rate;
    /* A key frame every second keeps seeking and scrubbing quick. */
    enc->gop_size = (int)fmax(1, lround(p->fps));
    enc->thread_count = orr_get_num_threads();
    if (is_yuv(format)) {
        enc->colorspace = AVCOL_SPC_BT709;
        enc->color_primaries = AVCOL_PRI_BT709;
        enc->color_trc = AVCOL_TRC_BT709;
        enc->color_range = AVCOL_RANGE_MPEG;
    }
    if (w->oc->oformat->flags & AVFMT_GLOBALHEADER) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    orr_status status = set_quality(w, p);
    if (status) return status;
    int ret = avcodec_open2(enc, codec, NULL);
    if (ret < 0) return av_fail(w, ORR_ERR_UNSUPPORTED, ret, "cannot start the encoder");

    if (!(w->st = avformat_new_stream(w->oc, NULL))) return orr_error(ORR_ERR_MEMORY, "%s: out of memory", w->what);
    w->st->time_base = enc->time_base;
    w->st->avg_frame_rate = rate;
    if ((ret = avcodec_parameters_from_context(w->st->codecpar, enc)) < 0)
        return av_fail(w, ORR_ERR_FORMAT, ret, "stream parameters");

    w->sws = sws_getContext(enc->width, enc->height, AV_PIX_FMT_RGB24, enc->width, enc->height, format,
                            SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INP, NULL, NULL, NULL);
    if (!w->sws) return orr_error(ORR_ERR_UNSUPPORTED, "%s: swscale cannot convert rgb24 to %s", w->what, d->name);
    if (is_yuv(format))
        sws_setColorspaceDetails(w->sws, sws_getCoefficients(SWS_CS_DEFAULT), 1, sws_getCoefficients(SWS_CS_ITU709),
                                 0, 0, 1 << 16, 1 << 16);
    if (!(w->picture = av_frame_alloc()) || !(w->pkt = av_packet_alloc()))
        return orr_error(ORR_ERR_MEMORY, "%s: out of memory", w->what);
    w->picture->format = format;
    w->picture->width = enc->width;
    w->picture->height = enc->height;
    if ((ret = av_frame_get_buffer(w->picture, 0)) < 0) return av_fail(w, ORR_ERR_MEMORY, ret, "frame buffer");
    return ORR_OK;
}

static orr_status open_container(orr_video_writer *w, const orr_video_write_params *p, const orr_metadata *meta) {
    const AVOutputFormat *ofmt = av_guess_format(NULL, w->path, NULL);
    if (!ofmt)
        return orr_error(ORR_ERR_ARGUMENT,
                         "%s: cannot tell the container from the name (use .mp4, .mov, .mkv, .webm, .gif, or a "
                         "pattern like frames/%%05d.png for a PNG sequence)",
                         w->what);
    if (ofmt->flags & AVFMT_NOFILE)
        return orr_error(ORR_ERR_ARGUMENT,
                         "%s: names one image, not a video (orr_png_write writes one; a pattern like %%05d.png "
                         "names a sequence)",
                         w->what);
    const AVCodec *codec = NULL;
    orr_status status = choose_encoder(w, ofmt, p->codec, &codec);
    if (status) return status;
    if (!(w->temp = orr_media_temp_name(w->path))) return orr_error(ORR_ERR_MEMORY, "%s: out of memory", w->what);
    size_t n = strlen(w->temp) + 6;
    char *url = malloc(n);
    if (!url) return orr_error(ORR_ERR_MEMORY, "%s: out of memory", w->what);
    snprintf(url, n, "file:%s", w->temp);
    int ret = avformat_alloc_output_context2(&w->oc, ofmt, NULL, url);
    free(url);
    if (ret < 0) return av_fail(w, ORR_ERR_MEMORY, ret, "starting the muxer");
    if ((status = open_encoder(w, codec, p))) return status;
    for (int64_t i = 0; i < orr_metadata_count(meta); i++)
        if ((ret = av_dict_set(&w->oc->metadata, orr_metadata_key(meta, i), orr_metadata_value(meta, i), 0)) < 0)
            return av_fail(w, ORR_ERR_MEMORY, ret, "metadata");
    if ((ret = avio_open(&w->oc->pb, w->oc->url, AVIO_FLAG_WRITE)) < 0) {
        char text[ORR_AV_ERROR_SIZE];
        return orr_error(ORR_ERR_IO, "%s: cannot create %s: %s", w->what, w->temp, orr_av_error(ret, text));
    }
    /* MP4/MOV keep only known tags unless told to keep any key; faststart
     * puts the index first so players can start before the end arrives.
     * Other muxers ignore the option. */
    AVDictionary *opts = NULL;
    av_dict_set(&opts, "movflags", "+faststart+use_metadata_tags", 0);
    ret = avformat_write_header(w->oc, &opts);
    av_dict_free(&opts);
    if (ret < 0) return av_fail(w, ORR_ERR_IO, ret, "writing the header");
    return ORR_OK;
}

/* The file name of frame `index` of a sequence. */
static orr_status sequence_name(const orr_video_writer *w, int64_t index, char *buf, size_t size) {
    if (av_get_frame_filename2(buf, (int)size, w->path, (int)index, AV_FRAME_FILENAME_FLAGS_MULTIPLE) < 0)
        return orr_error(ORR_ERR_ARGUMENT, "%s: the name pattern must hold one %%d (or %%05d, ...) and no other %%",
                         w->what);
    return ORR_OK;
}

static orr_status check_open_args(const char *path, int64_t width, int64_t height, const orr_video_write_params *p) {
    if (width < 1 || height < 1 || width > 16384 || height > 16384)
        return orr_error(ORR_ERR_SHAPE, "video: writing %s: frames of %lldx%lld (1..16384 each)", path,
                         (long long)width, (long long)height);
    if (!(p->fps > 0 && p->fps <= 1000 && isfinite(p->fps)))
        return orr_error(ORR_ERR_ARGUMENT, "video: writing %s: fps %g is not in (0, 1000]", path, p->fps);
    if (p->qscale < 1 || p->qscale > 31)
        return orr_error(ORR_ERR_ARGUMENT, "video: writing %s: qscale %d is not in 1..31", path, p->qscale);
    if (p->crf < 0) return orr_error(ORR_ERR_ARGUMENT, "video: writing %s: crf %d is negative", path, p->crf);
    return ORR_OK;
}

orr_status orr_video_writer_open(const char *path, int64_t width, int64_t height,
                                 const orr_video_write_params *params, const orr_metadata *metadata,
                                 orr_video_writer **out) {
    if (!path || !out) return orr_error(ORR_ERR_ARGUMENT, "video: writer_open: %s is NULL", !path ? "path" : "out");
    *out = NULL;
    orr_video_write_params defaults;
    orr_video_write_params_init(&defaults);
    if (!params) params = &defaults;
    orr_status status = check_open_args(path, width, height, params);
    if (status) return status;
    orr_video_writer *w = calloc(1, sizeof *w);
    size_t n = strlen(path) + 32;
    if (!w || !(w->path = strdup(path)) || !(w->what = malloc(n))) {
        orr_video_writer_free(w);
        return orr_error(ORR_ERR_MEMORY, "video: writing %s: out of memory", path);
    }
    snprintf(w->what, n, "video: writing %s", path);
    w->width = width;
    w->height = height;
    int64_t shape[3] = {height, width, 3};
    if (!(w->rgb = malloc((size_t)(width * height * 3))) ||
        orr_tensor_wrap(&w->rgb_frame, w->rgb, ORR_U8, 3, shape, NULL, NULL)) {
        orr_video_writer_free(w);
        return orr_error(ORR_ERR_MEMORY, "%s: out of memory", w->what);
    }
    orr_av_log_begin();
    char name[4096];
    w->sequence = strchr(path, '%') != NULL;
    if (w->sequence && !ends_with_png(path))
        status = orr_error(ORR_ERR_ARGUMENT, "%s: a name pattern writes a PNG sequence; end it in .png", w->what);
    else if (w->sequence && !(status = sequence_name(w, 0, name, sizeof name)))
        status = orr_metadata_create(&w->text);
    else if (!w->sequence)
        status = open_container(w, params, metadata);
    for (int64_t i = 0; !status && w->sequence && i < orr_metadata_count(metadata); i++)
        status = orr_metadata_set(w->text, orr_metadata_key(metadata, i), orr_metadata_value(metadata, i));
    if (status) {
        orr_video_writer_free(w);
        return status;
    }
    *out = w;
    return ORR_OK;
}

/* ---- writing ------------------------------------------------------------------------- */

static orr_status write_packets(orr_video_writer *w) {
    int ret;
    while ((ret = avcodec_receive_packet(w->enc, w->pkt)) == 0) {
        av_packet_rescale_ts(w->pkt, w->enc->time_base, w->st->time_base);
        w->pkt->stream_index = w->st->index;
        if ((ret = av_interleaved_write_frame(w->oc, w->pkt)) < 0) return av_fail(w, ORR_ERR_IO, ret, "writing");
    }
    if (ret != AVERROR(EAGAIN) && ret != AVERROR_EOF) return av_fail(w, ORR_ERR_FORMAT, ret, "encoding");
    return ORR_OK;
}

static orr_status add_to_sequence(orr_video_writer *w, const orr_tensor *frame) {
    char name[4096];
    orr_status status = sequence_name(w, w->frames, name, sizeof name);
    if (status) return status;
    char **grown = realloc(w->temps, (size_t)(w->frames + 1) * sizeof *grown);
    if (!grown) return orr_error(ORR_ERR_MEMORY, "%s: out of memory", w->what);
    w->temps = grown;
    if (!(w->temps[w->frames] = orr_media_temp_name(name))) return orr_error(ORR_ERR_MEMORY, "%s: out of memory", w->what);
    if ((status = orr_png_write_exact(w->what, w->temps[w->frames], frame, w->text))) {
        unlink(w->temps[w->frames]);
        free(w->temps[w->frames]);
        w->temps[w->frames] = NULL;
        return status;
    }
    return ORR_OK;
}

static orr_status add_to_container(orr_video_writer *w, const uint8_t *rgb) {
    int ret = av_frame_make_writable(w->picture);
    if (ret < 0) return av_fail(w, ORR_ERR_MEMORY, ret, "frame buffer");
    const uint8_t *planes[4] = {rgb};
    int strides[4] = {(int)w->width * 3};
    sws_scale(w->sws, planes, strides, 0, (int)w->height, w->picture->data, w->picture->linesize);
    w->picture->pts = w->frames;
    if ((ret = avcodec_send_frame(w->enc, w->picture)) < 0) return av_fail(w, ORR_ERR_FORMAT, ret, "encoding");
    return write_packets(w);
}

/* Frame t of the input as a packed u8 [H,W,3] frame: a view of the input
 * when it is one already, else converted into w->rgb_frame. */
static orr_status frame_at(orr_video_writer *w, const orr_tensor *frames, bool model, int64_t t,
                           orr_tensor **frame) {
    orr_tensor *view = NULL;
    orr_status status;
    *frame = NULL;
    if (model) {
        int64_t shape[4] = {1, w->height, w->width, 3};
        if (!(status = orr_tensor_narrow(&view, frames, 1, t, 1)) &&
            !(status = orr_tensor_view_as(frame, w->rgb_frame, 4, shape)))
            status = orr_frames_from_model(*frame, view);
        orr_tensor_free(view);
        if (!status) return ORR_OK;
        orr_tensor_free(*frame);
        *frame = NULL;
        return orr_error_context(status, "%s: frame %lld: ", w->what, (long long)t);
    }
    status = frames->ndim == 3 ? orr_tensor_view(&view, frames) : orr_tensor_select(&view, frames, 0, t);
    if (status) return status;
    if (orr_tensor_is_contiguous(view)) {
        *frame = view;
        return ORR_OK;
    }
    status = orr_copy(w->rgb_frame, view);
    orr_tensor_free(view);
    return status ? status : orr_tensor_view(frame, w->rgb_frame);
}

/* Checks frames against the writer; *model is true for [3,T,H,W] floats. */
static orr_status check_frames(const orr_video_writer *w, const orr_tensor *frames, bool *model, int64_t *count) {
    char desc[200];
    orr_status status = orr_check_cpu(w->what, "frames", frames);
    if (status) return status;
    orr_tensor_describe(frames, desc, sizeof desc);
    *model = frames->dtype == ORR_F32 || frames->dtype == ORR_BF16 || frames->dtype == ORR_F16 ||
             frames->dtype == ORR_F64;
    int64_t h, wd, c;
    if (*model) {
        if (frames->ndim != 4 || frames->shape[0] != 3)
            return orr_error(ORR_ERR_SHAPE, "%s: frames are %s; float frames are [3,T,H,W] in [-1,1]", w->what, desc);
        *count = frames->shape[1];
        h = frames->shape[2];
        wd = frames->shape[3];
        c = 3;
    } else if ((status = orr_frames_check(w->what, "frames", frames, true, count, &h, &wd, &c))) {
        return status;
    }
    if (h != w->height || wd != w->width || c != 3)
        return orr_error(ORR_ERR_SHAPE, "%s: frames are %s but the video is %lldx%lld RGB", w->what, desc,
                         (long long)w->width, (long long)w->height);
    return ORR_OK;
}

orr_status orr_video_writer_add(orr_video_writer *w, const orr_tensor *frames) {
    if (!w) return orr_error(ORR_ERR_ARGUMENT, "video: writer_add: w is NULL");
    if (w->failed || w->finished)
        return orr_error(ORR_ERR_ARGUMENT, "%s: the writer is %s", w->what,
                         w->finished ? "finished" : "stopped by an earlier error");
    bool model;
    int64_t count;
    orr_status status = check_frames(w, frames, &model, &count);
    if (status) return status;
    orr_av_log_begin();
    for (int64_t t = 0; t < count && !status; t++) {
        orr_tensor *frame;
        if ((status = frame_at(w, frames, model, t, &frame))) break;
        status = w->sequence ? add_to_sequence(w, frame) : add_to_container(w, frame->data);
        orr_tensor_free(frame);
        if (!status) w->frames++;
    }
    if (status) w->failed = true;
    return status;
}

/* ---- finishing ------------------------------------------------------------------------- */

static orr_status finish_sequence(orr_video_writer *w) {
    char name[4096];
    for (int64_t i = 0; i < w->frames; i++) {
        orr_status status = orr_media_sync(w->what, w->temps[i]);
        if (status) return status;
    }
    for (int64_t i = 0; i < w->frames; i++) {
        orr_status status = sequence_name(w, i, name, sizeof name);
        if (status) return status;
        if (rename(w->temps[i], name) != 0) {
            int err = errno;
            /* Take back what was already renamed: all or nothing. */
            for (int64_t j = 0; j < i; j++)
                if (!sequence_name(w, j, name, sizeof name)) unlink(name);
            return orr_error(ORR_ERR_IO, "%s: cannot rename %s into place: %s", w->what, w->temps[i], strerror(err));
        }
        free(w->temps[i]);
        w->temps[i] = NULL;
    }
    return ORR_OK;
}

static orr_status finish_container(orr_video_writer *w) {
    int ret = avcodec_send_frame(w->enc, NULL);
    if (ret < 0) return av_fail(w, ORR_ERR_FORMAT, ret, "flushing the encoder");
    orr_status status = write_packets(w);
    if (status) return status;
    if ((ret = av_write_trailer(w->oc)) < 0) return av_fail(w, ORR_ERR_IO, ret, "writing the trailer");
    if ((ret = avio_closep(&w->oc->pb)) < 0) return av_fail(w, ORR_ERR_IO, ret, "closing");
    if ((status = orr_media_sync(w->what, w->temp))) return status;
    if (rename(w->temp, w->path) != 0)
        return orr_error(ORR_ERR_IO, "%s: cannot rename %s to it: %s", w->what, w->temp, strerror(errno));
    return ORR_OK;
}

orr_status orr_video_writer_finish(orr_video_writer *w) {
    if (!w) return orr_error(ORR_ERR_ARGUMENT, "video: writer_finish: w is NULL");
    if (w->failed || w->finished)
        return orr_error(ORR_ERR_ARGUMENT, "%s: the writer is %s", w->what,
                         w->finished ? "finished already" : "stopped by an earlier error");
    if (w->frames == 0) return orr_error(ORR_ERR_ARGUMENT, "%s: no frames were added", w->what);
    orr_av_log_begin();
    orr_status status = w->sequence ? finish_sequence(w) : finish_container(w);
    if (status) w->failed = true;
    else w->finished = true;
    return status;
}

void orr_video_writer_free(orr_video_writer *w) {
    if (!w) return;
    for (int64_t i = 0; w->temps && i < w->frames; i++) {
        if (w->temps[i] && !w->finished) unlink(w->temps[i]);
        free(w->temps[i]);
    }
    free(w->temps);
    orr_metadata_free(w->text);
    if (w->oc) {
        if (w->oc->pb) avio_closep(&w->oc->pb);
        avformat_free_context(w->oc);
    }
    if (w->temp && !w->finished) unlink(w->temp);
    avcodec_free_context(&w->enc);
    sws_freeContext(w->sws);
    av_frame_free(&w->picture);
    av_packet_free(&w->pkt);
    orr_tensor_free(w->rgb_frame);
    free(w->rgb);
    free(w->temp);
    free(w->what);
    free(w->path);
    free(w);
}

orr_status orr_video_save(const char *path, const orr_tensor *frames, const orr_video_write_params *params,
                          const orr_metadata *metadata) {
    if (!frames) return orr_error(ORR_ERR_ARGUMENT, "video: writing %s: frames is NULL", path ? path : "(null)");
    bool model = frames->dtype == ORR_F32 || frames->dtype == ORR_BF16 || frames->dtype == ORR_F16 ||
                 frames->dtype == ORR_F64;
    int64_t h = 0, w = 0;
    if (frames->ndim >= 3) {
        h = frames->shape[frames->ndim - (model ? 2 : 3)];
        w = frames->shape[frames->ndim - (model ? 1 : 2)];
    }
    orr_video_writer *writer;
    orr_status status = orr_video_writer_open(path, w, h, params, metadata, &writer);
    if (status) return status;
    if (!(status = orr_video_writer_add(writer, frames))) status = orr_video_writer_finish(writer);
    orr_video_writer_free(writer);
    return status;
}
#endif
