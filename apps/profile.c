/* SPDX-License-Identifier: MIT */
/* minicnn train --profile: each layer's share of a training step. */
#include "profile.h"

#include <string.h>

/* Characters (not bytes) of UTF-8 text, for column widths. */
static int text_width(const char *s)
{
    int w = 0;
    for (; *s != '\0'; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

static void put_padded(FILE *f, const char *s, int width)
{
    fprintf(f, "%s%*s", s, width - text_width(s) > 0 ? width - text_width(s) : 0, "");
}

static void put_row(FILE *f, int name_w, int type_w, const char *index, const char *name,
                    const char *type, double fwd_ms, double bwd_ms, double share)
{
    fprintf(f, "%5s  ", index);
    put_padded(f, name, name_w + 2);
    put_padded(f, type, type_w + 2);
    if (fwd_ms >= 0)
        fprintf(f, "%11.3f", fwd_ms);
    else
        fprintf(f, "%11s", "-");
    if (bwd_ms >= 0)
        fprintf(f, "%13.3f", bwd_ms);
    else
        fprintf(f, "%13s", "-");
    fprintf(f, "%12.1f\n", share);
}

void cli_print_profile(FILE *f, const mc_net *net)
{
    const int steps = mc_net_profile_steps(net), L = mc_net_num_layers(net);
    const double step_s = mc_net_profile_part(net, MC_PROFILE_STEP);
    if (steps == 0 || step_s <= 0) {
        fprintf(f, "\nProfile: no training step was timed.\n");
        return;
    }
    int name_w = text_width("Name"), type_w = text_width("Type");
    for (int i = 0; i < L; i++) {
        const mc_layer *l = mc_net_layer(net, i);
        name_w = text_width(l->name) > name_w ? text_width(l->name) : name_w;
        type_w = text_width(l->vt->type_label) > type_w ? text_width(l->vt->type_label) : type_w;
    }
    const char *extra[3] = {"data", "optimizer", "other"};
    const char *extra_type[3] = {"gathering the mini-batch", "zero gradients, solver step",
                                 "loss, checks, progress, validation"};
    for (int i = 0; i < 3; i++)
        name_w = text_width(extra[i]) > name_w ? text_width(extra[i]) : name_w;
    for (int i = 0; i < 3; i++)
        type_w = text_width(extra_type[i]) > type_w ? text_width(extra_type[i]) : type_w;
    const double per = 1e3 / steps, to_share = 100 / step_s;
    double fwd_total = 0, bwd_total = 0;
    fprintf(f,
            "\nProfile of %d training iteration%s on %d thread%s: %.3f ms per iteration "
            "(mean)\n\n",
            steps, steps == 1 ? "" : "s", mc_get_threads(), mc_get_threads() == 1 ? "" : "s",
            step_s * per);
    fprintf(f, "%5s  ", "#");
    put_padded(f, "Name", name_w + 2);
    put_padded(f, "Type", type_w + 2);
    fprintf(f, "%11s%13s%12s\n", "Forward ms", "Backward ms", "% of step");
    for (int i = 0; i < L; i++) {
        const mc_layer *l = mc_net_layer(net, i);
        double fwd, bwd;
        mc_net_profile_layer(net, i, &fwd, &bwd);
        fwd_total += fwd;
        bwd_total += bwd;
        char index[16];
        snprintf(index, sizeof index, "%d", i + 1);
        put_row(f, name_w, type_w, index, l->name, l->vt->type_label, fwd * per, bwd * per,
                (fwd + bwd) * to_share);
    }
    const double data = mc_net_profile_part(net, MC_PROFILE_DATA);
    const double optim = mc_net_profile_part(net, MC_PROFILE_OPTIMIZER);
    const double other = step_s - fwd_total - bwd_total - data - optim;
    const double parts[3] = {data, optim, other};
    for (int i = 0; i < 3; i++)
        put_row(f, name_w, type_w, "", extra[i], extra_type[i], -1, -1, parts[i] * to_share);
    put_row(f, name_w, type_w, "", "total", "", fwd_total * per, bwd_total * per, 100.0);
}
