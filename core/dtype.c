/* dtype.c — dtype sizes and names, half-precision conversions, devices. */
#include <string.h>
#include <strings.h>

#include "internal.h"

static const struct {
    const char *name;
    size_t size;
} dtype_info[ORR_DTYPE_COUNT] = {
    [ORR_F32] = {"f32", 4}, [ORR_F64] = {"f64", 8}, [ORR_BF16] = {"bf16", 2}, [ORR_F16] = {"f16", 2},
    [ORR_I64] = {"i64", 8}, [ORR_I32] = {"i32", 4}, [ORR_I16] = {"i16", 2},   [ORR_I8] = {"i8", 1},
    [ORR_U8] = {"u8", 1},   [ORR_BOOL] = {"bool", 1},
};

size_t orr_dtype_size(orr_dtype dtype) {
    return (unsigned)dtype < ORR_DTYPE_COUNT ? dtype_info[dtype].size : 0;
}

const char *orr_dtype_name(orr_dtype dtype) {
    return (unsigned)dtype < ORR_DTYPE_COUNT ? dtype_info[dtype].name : NULL;
}

orr_status orr_dtype_from_name(const char *name, orr_dtype *out) {
    static const struct {
        const char *alias;
        orr_dtype dtype;
    } aliases[] = {
        {"float32", ORR_F32}, {"float", ORR_F32},     {"float64", ORR_F64}, {"double", ORR_F64},
        {"bfloat16", ORR_BF16}, {"float16", ORR_F16}, {"half", ORR_F16},    {"int64", ORR_I64},
        {"int32", ORR_I32},   {"int16", ORR_I16},     {"int8", ORR_I8},     {"uint8", ORR_U8},
    };
    if (!name) return orr_error(ORR_ERR_ARGUMENT, "dtype name is NULL");
    for (int d = 0; d < ORR_DTYPE_COUNT; d++)
        if (strcasecmp(name, dtype_info[d].name) == 0) return *out = (orr_dtype)d, ORR_OK;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcasecmp(name, aliases[i].alias) == 0) return *out = aliases[i].dtype, ORR_OK;
    return orr_error(ORR_ERR_FORMAT, "unknown dtype '%s'", name);
}

float orr_bf16_to_f32(uint16_t v) { return orr_bf16_bits_to_f32(v); }

uint16_t orr_f32_to_bf16(float v) { return orr_f32_to_bf16_bits(v); }

float orr_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);
    } else if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do {
                man <<= 1;
                e++;
            } while (!(man & 0x400u));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
        }
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t orr_f32_to_f16(float v) {
    uint32_t bits;
    memcpy(&bits, &v, 4);
    uint32_t sign = (bits >> 16) & 0x8000u;
    uint32_t abs = bits & 0x7fffffffu;
    if (abs > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);  /* NaN */
    if (abs >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds to Inf */
    if (abs < 0x38800000u) {                                    /* subnormal or zero in f16 */
        if (abs < 0x33000000u) return (uint16_t)sign;
        uint32_t e = abs >> 23, man = (abs & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126 - e; /* 14..24 */
        uint32_t half = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1u))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t r = abs + 0xfffu + ((abs >> 13) & 1u) - ((127u - 15u) << 23);
    return (uint16_t)(sign | (r >> 13));
}

const char *orr_device_name(orr_device device) {
    switch (device) {
    case ORR_CPU: return "cpu";
    case ORR_CUDA: return "cuda";
    default: return "unknown device";
    }
}
