/* SPDX-License-Identifier: MIT */
/* Network files: a lexer and an interpreter for the MATLAB subset described in netfile.h. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "netfile_internal.h"

/* ---- Lexer ------------------------------------------------------------------------------ */

typedef enum tk {
    TK_EOF,
    TK_NEWLINE,
    TK_IDENT,
    TK_NUMBER,
    TK_STRING,
    TK_LPAREN,
    TK_RPAREN,
    TK_LBRACK,
    TK_RBRACK,
    TK_LBRACE,
    TK_RBRACE,
    TK_COMMA,
    TK_SEMI,
    TK_ASSIGN,
    TK_MINUS,
    TK_PLUS,
    TK_AT,
    TK_OTHER
} tk;

typedef struct token {
    tk kind;
    const char *p; /* the token's text in the source */
    size_t len;
    int line, col;
    bool space_before;
    double num;
} token;

typedef struct variable {
    char *name; /* "" for the value of a bare expression */
    nf_value value;
    int assigned_line;
    int consumed_line; /* 0 while the value is available */
} variable;

typedef struct parser {
    mc_ctx *ctx;
    const char *file;
    const char *text;
    size_t len, pos;
    int line, col;
    tk prev; /* kind of the previous token, to tell a transpose from a string */
    token tok;
    variable *vars;
    int n_vars, cap_vars;
    mc__name_index index; /* of the named variables */
    int index_room;       /* variables the index has room for */
    nf_call here;         /* for nf_fail_at: ctx and file */
    int depth;            /* values being parsed inside one another */
    const char *option;   /* the option name before the argument being parsed, or NULL */
} parser;

/* How deeply [...] and (...) may nest: far more than any network needs, and little enough
 * stack for the recursive descent in any thread. */
#define MAX_DEPTH 256

mc_status nf_fail_at(const nf_call *c, int line, int col, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mc_ctx_fail(c->ctx, MC_ERR_FORMAT, "%s:%d:%d: %s", c->file, line, col, msg);
}

static mc_status fail_tok(parser *ps, const token *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static mc_status fail_tok(parser *ps, const token *t, const char *fmt, ...)
{
    char msg[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return nf_fail_at(&ps->here, t->line, t->col, "%s", msg);
}

/* How a token reads in a message: "'['", "end of file", "the number 3". */
static const char *describe_tok(const token *t, char *buf, size_t cap)
{
    switch (t->kind) {
    case TK_EOF:
        return "end of file";
    case TK_NEWLINE:
        return "end of line";
    case TK_IDENT:
        snprintf(buf, cap, "'%.*s'", (int)(t->len > 40 ? 40 : t->len), t->p);
        return buf;
    case TK_NUMBER:
        snprintf(buf, cap, "the number %.*s", (int)(t->len > 40 ? 40 : t->len), t->p);
        return buf;
    case TK_STRING:
        snprintf(buf, cap, "the string %.*s", (int)(t->len > 40 ? 40 : t->len), t->p);
        return buf;
    default:
        snprintf(buf, cap, "'%.*s'", (int)t->len, t->p);
        return buf;
    }
}

static int peekc(const parser *ps, size_t k)
{
    return ps->pos + k < ps->len ? (unsigned char)ps->text[ps->pos + k] : -1;
}

static void advance(parser *ps, size_t n)
{
    for (size_t i = 0; i < n && ps->pos < ps->len; i++) {
        if (ps->text[ps->pos] == '\n') {
            ps->line++;
            ps->col = 1;
        } else {
            ps->col++;
        }
        ps->pos++;
    }
}

/* True when only blanks stand between the start of the current line and pos, and the text from
 * pos is `mark` followed by blanks to the end of the line. */
static bool line_is(const parser *ps, size_t pos, const char *mark)
{
    size_t b = pos;
    while (b > 0 && (ps->text[b - 1] == ' ' || ps->text[b - 1] == '\t'))
        b--;
    if (b > 0 && ps->text[b - 1] != '\n')
        return false;
    size_t n = strlen(mark);
    if (pos + n > ps->len || strncmp(ps->text + pos, mark, n) != 0)
        return false;
    for (size_t e = pos + n; e < ps->len && ps->text[e] != '\n'; e++)
        if (ps->text[e] != ' ' && ps->text[e] != '\t' && ps->text[e] != '\r')
            return false;
    return true;
}

static void skip_to_eol(parser *ps)
{
    while (ps->pos < ps->len && ps->text[ps->pos] != '\n')
        advance(ps, 1);
}

static mc_status lex(parser *ps)
{
    token *t = &ps->tok;
    bool space = false;
    for (;;) {
        int ch = peekc(ps, 0);
        if (ch == ' ' || ch == '\t' || ch == '\r') {
            advance(ps, 1);
            space = true;
        } else if (ch == '%' && line_is(ps, ps->pos, "%{")) {
            token open = {TK_OTHER, ps->text + ps->pos, 2, ps->line, ps->col, false, 0};
            skip_to_eol(ps);
            for (;;) {
                if (ps->pos >= ps->len)
                    return fail_tok(ps, &open, "block comment '%%{' is never closed by '%%}'");
                advance(ps, 1); /* the newline */
                size_t q = ps->pos;
                while (q < ps->len && (ps->text[q] == ' ' || ps->text[q] == '\t'))
                    q++;
                if (line_is(ps, q, "%}")) {
                    skip_to_eol(ps);
                    break;
                }
                skip_to_eol(ps);
            }
        } else if (ch == '%') {
            skip_to_eol(ps);
        } else if (ch == '.' && peekc(ps, 1) == '.' && peekc(ps, 2) == '.') {
            skip_to_eol(ps); /* continuation: the newline is not a token */
            advance(ps, 1);
            space = true;
        } else {
            break;
        }
    }
    t->p = ps->text + ps->pos;
    t->line = ps->line;
    t->col = ps->col;
    t->space_before = space;
    t->len = 1;
    int ch = peekc(ps, 0);
    if (ch < 0) {
        t->kind = TK_EOF;
        t->len = 0;
    } else if (ch == '\n') {
        t->kind = TK_NEWLINE;
    } else if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')) {
        size_t n = 1;
        for (int c2;
             (c2 = peekc(ps, n)) >= 0 && ((c2 >= 'A' && c2 <= 'Z') || (c2 >= 'a' && c2 <= 'z') ||
                                          (c2 >= '0' && c2 <= '9') || c2 == '_');)
            n++;
        t->kind = TK_IDENT;
        t->len = n;
    } else if ((ch >= '0' && ch <= '9') ||
               (ch == '.' && peekc(ps, 1) >= '0' && peekc(ps, 1) <= '9')) {
        size_t n = 0;
        while (peekc(ps, n) >= '0' && peekc(ps, n) <= '9')
            n++;
        if (peekc(ps, n) == '.') {
            n++;
            while (peekc(ps, n) >= '0' && peekc(ps, n) <= '9')
                n++;
        }
        if (peekc(ps, n) == 'e' || peekc(ps, n) == 'E') {
            size_t m = n + 1;
            if (peekc(ps, m) == '+' || peekc(ps, m) == '-')
                m++;
            if (peekc(ps, m) >= '0' && peekc(ps, m) <= '9') {
                while (peekc(ps, m) >= '0' && peekc(ps, m) <= '9')
                    m++;
                n = m;
            } else {
                t->len = m;
                return fail_tok(ps, t,
                                "malformed number '%.*s': expected digits after the "
                                "exponent",
                                (int)m, t->p);
            }
        }
        char buf[64];
        if (n >= sizeof buf)
            return fail_tok(ps, t, "number too long");
        memcpy(buf, t->p, n);
        buf[n] = '\0';
        t->kind = TK_NUMBER;
        t->len = n;
        t->num = strtod(buf, NULL);
        int c2 = peekc(ps, n);
        if ((c2 >= 'A' && c2 <= 'Z') || (c2 >= 'a' && c2 <= 'z') || c2 == '_')
            return fail_tok(ps, t, "malformed number '%.*s%c'", (int)n, t->p, c2);
    } else if (ch == '\'' && !space &&
               (ps->prev == TK_IDENT || ps->prev == TK_RPAREN || ps->prev == TK_RBRACK ||
                ps->prev == TK_RBRACE || ps->prev == TK_NUMBER || ps->prev == TK_STRING)) {
        return fail_tok(ps, t, "the transpose operator ' is not supported in network files");
    } else if (ch == '\'' || ch == '"') {
        size_t n = 1;
        for (;;) {
            int c2 = peekc(ps, n);
            if (c2 < 0 || c2 == '\n') {
                t->len = n;
                return fail_tok(ps, t, "string starting here is not closed by %c on its line", ch);
            }
            n++;
            if (c2 == ch) {
                if (peekc(ps, n) == ch)
                    n++; /* '' or "" stands for one quote */
                else
                    break;
            }
        }
        t->kind = TK_STRING;
        t->len = n;
    } else {
        static const struct {
            char c;
            tk kind;
        } punct[] = {{'(', TK_LPAREN}, {')', TK_RPAREN}, {'[', TK_LBRACK}, {']', TK_RBRACK},
                     {'{', TK_LBRACE}, {'}', TK_RBRACE}, {',', TK_COMMA},  {';', TK_SEMI},
                     {'=', TK_ASSIGN}, {'-', TK_MINUS},  {'+', TK_PLUS},   {'@', TK_AT}};
        t->kind = TK_OTHER;
        for (size_t i = 0; i < sizeof punct / sizeof punct[0]; i++)
            if (punct[i].c == ch)
                t->kind = punct[i].kind;
        if (t->kind == TK_ASSIGN && peekc(ps, 1) == '=')
            return fail_tok(ps, t, "comparison '==' is not supported in network files");
        if (t->kind == TK_OTHER) {
            if (ch >= 0x20 && ch < 0x7f)
                return fail_tok(ps, t, "unexpected character '%c'", ch);
            return fail_tok(ps, t, "unexpected byte 0x%02x (network files are ASCII)", ch);
        }
    }
    advance(ps, t->len);
    ps->prev = t->kind;
    return MC_OK;
}

/* ---- Values ----------------------------------------------------------------------------- */

static void value_free(mc_ctx *ctx, nf_value *v)
{
    mc_free(ctx, v->nums);
    mc_free(ctx, v->str);
    for (int i = 0; v->cells != NULL && i < v->count; i++)
        mc_free(ctx, v->cells[i]);
    mc_free(ctx, v->cells);
    for (int i = 0; v->layers != NULL && i < v->count; i++)
        mc_layer_destroy(v->layers[i]);
    mc_free(ctx, v->layers);
    mc_net_destroy(v->graph);
    memset(v, 0, sizeof *v);
}

static const char *kind_name(nf_kind k)
{
    switch (k) {
    case NF_NUMBERS:
        return "a number";
    case NF_STRING:
        return "a string";
    case NF_CELL:
        return "a cell array";
    case NF_LAYERS:
        return "a layer array";
    case NF_GRAPH:
        return "a layer graph";
    default:
        return "nothing";
    }
}

static mc_status nomem(parser *ps)
{
    return mc__nomem(ps->ctx, "reading a network file");
}

/* The decoded text of a string token. */
static mc_status decode_string(parser *ps, const token *t, char **out)
{
    char *s = mc_alloc(ps->ctx, t->len);
    if (s == NULL)
        return nomem(ps);
    const char q = t->p[0];
    size_t o = 0;
    for (size_t i = 1; i + 1 < t->len; i++) {
        s[o++] = t->p[i];
        if (t->p[i] == q)
            i++; /* the second quote of a doubled pair */
    }
    s[o] = '\0';
    *out = s;
    return MC_OK;
}

/* Room for `need` elements of `elem` bytes in *array (holding `count`, room `*cap`), growing
 * by doubling so that n appends cost O(n). */
static mc_status reserve(parser *ps, void **array, int count, int *cap, long need, size_t elem)
{
    if (need <= *cap || (need <= count && *array != NULL))
        return MC_OK;
    if (need > 0x3fffffff)
        return mc_ctx_fail(ps->ctx, MC_ERR_FORMAT, "%s: more than %d elements in one value",
                           ps->file, 0x3fffffff);
    long room = *cap > count ? *cap : count;
    room = room < 8 ? 8 : room;
    while (room < need)
        room *= 2;
    char *grown = mc__calloc(ps->ctx, (size_t)room, elem);
    if (grown == NULL)
        return nomem(ps);
    if (count > 0)
        memcpy(grown, *array, (size_t)count * elem);
    mc_free(ps->ctx, *array);
    *array = grown;
    *cap = (int)room;
    return MC_OK;
}

/* Appends src's elements to dst (same kind), emptying src (also on failure). */
static mc_status concat(parser *ps, nf_value *dst, nf_value *src)
{
    const bool numbers = src->kind == NF_NUMBERS;
    size_t elem = numbers ? sizeof(double) : sizeof(mc_layer *);
    void *array = numbers ? (void *)dst->nums : (void *)dst->layers;
    void *add = numbers ? (void *)src->nums : (void *)src->layers;
    mc_status st = reserve(ps, &array, dst->count, &dst->cap, (long)dst->count + src->count, elem);
    if (numbers)
        dst->nums = array;
    else
        dst->layers = array;
    if (st != MC_OK) {
        value_free(ps->ctx, src);
        return st;
    }
    if (src->count > 0) /* an empty [] has no storage at all */
        memcpy((char *)array + (size_t)dst->count * elem, add, (size_t)src->count * elem);
    dst->count += src->count;
    /* the elements now belong to dst */
    mc_free(ps->ctx, add);
    src->nums = NULL;
    src->layers = NULL;
    src->count = 0;
    value_free(ps->ctx, src);
    return MC_OK;
}

/* ---- Variables -------------------------------------------------------------------------- */

static variable *find_var(parser *ps, const char *name, size_t len)
{
    if (len == 0 || ps->index.slots == NULL)
        return NULL;
    const int v = mc__name_index_find(&ps->index, name, len);
    return v < 0 ? NULL : &ps->vars[v];
}

static const char *var_name(const void *owner, int i)
{
    return ((const parser *)owner)->vars[i].name;
}

/* Enters vars[v] (named) into the index, rebuilding it twice as large when it is full. */
static mc_status index_var(parser *ps, int v)
{
    if (ps->index_room <= ps->n_vars) {
        mc__name_index grown;
        const int room = ps->index_room ? 2 * ps->index_room : 16;
        mc_status st = mc__name_index_init(ps->ctx, &grown, (size_t)room, var_name, ps,
                                           "reading a network file");
        if (st != MC_OK)
            return st;
        mc__name_index_release(ps->ctx, &ps->index);
        ps->index = grown;
        ps->index_room = room;
        for (int w = 0; w < ps->n_vars; w++)
            if (w != v && ps->vars[w].name[0] != '\0')
                mc__name_index_add(&ps->index, w);
    }
    mc__name_index_add(&ps->index, v);
    return MC_OK;
}

/* Stores v (taking it) under `name` ("" for a bare expression's network value). */
static mc_status set_var(parser *ps, const char *name, size_t len, nf_value *v, int line)
{
    variable *var = find_var(ps, name, len);
    if (var != NULL) {
        value_free(ps->ctx, &var->value);
    } else {
        if (ps->n_vars == ps->cap_vars) {
            int cap = ps->cap_vars ? ps->cap_vars * 2 : 8;
            variable *vars = mc__calloc(ps->ctx, (size_t)cap, sizeof *vars);
            if (vars == NULL)
                return nomem(ps);
            if (ps->n_vars > 0)
                memcpy(vars, ps->vars, (size_t)ps->n_vars * sizeof *vars);
            mc_free(ps->ctx, ps->vars);
            ps->vars = vars;
            ps->cap_vars = cap;
        }
        var = &ps->vars[ps->n_vars];
        memset(var, 0, sizeof *var);
        var->name = mc_alloc(ps->ctx, len + 1);
        if (var->name == NULL)
            return nomem(ps);
        memcpy(var->name, name, len);
        var->name[len] = '\0';
        ps->n_vars++;
        if (len > 0) {
            mc_status st = index_var(ps, ps->n_vars - 1);
            if (st != MC_OK)
                return st;
        }
    }
    var->value = *v;
    memset(v, 0, sizeof *v);
    var->assigned_line = line;
    var->consumed_line = 0;
    return MC_OK;
}

/* Makes *out a copy of the variable's value; layer arrays and graphs are moved, not copied. */
static mc_status use_var(parser *ps, variable *var, const token *t, nf_value *out)
{
    if (var->consumed_line > 0)
        return fail_tok(ps, t,
                        "'%s' was already used at line %d; a layer array or graph can be used "
                        "once",
                        var->name, var->consumed_line);
    nf_value *v = &var->value;
    memset(out, 0, sizeof *out);
    out->kind = v->kind;
    out->line = t->line;
    out->col = t->col;
    if (v->kind == NF_LAYERS || v->kind == NF_GRAPH) {
        *out = *v;
        out->line = t->line;
        out->col = t->col;
        memset(v, 0, sizeof *v);
        v->kind = out->kind;
        var->consumed_line = t->line;
        return MC_OK;
    }
    out->count = v->count;
    if (v->kind == NF_NUMBERS) {
        out->nums = mc__calloc(ps->ctx, (size_t)v->count, sizeof(double));
        if (out->nums == NULL)
            return nomem(ps);
        memcpy(out->nums, v->nums, (size_t)v->count * sizeof(double));
    } else if (v->kind == NF_STRING) {
        out->str = mc__strdup(ps->ctx, v->str);
        if (out->str == NULL)
            return nomem(ps);
    } else if (v->kind == NF_CELL) {
        out->cells = mc__calloc(ps->ctx, (size_t)v->count, sizeof(char *));
        if (out->cells == NULL)
            return nomem(ps);
        for (int i = 0; i < v->count; i++)
            if ((out->cells[i] = mc__strdup(ps->ctx, v->cells[i])) == NULL)
                return nomem(ps);
    }
    return MC_OK;
}

/* ---- Expressions ------------------------------------------------------------------------ */

static mc_status parse_expr(parser *ps, nf_value *out);

static bool tok_is(const token *t, const char *word)
{
    return t->kind == TK_IDENT && strlen(word) == t->len && strncmp(t->p, word, t->len) == 0;
}

static mc_status make_number(parser *ps, double x, const token *at, nf_value *out)
{
    memset(out, 0, sizeof *out);
    out->kind = NF_NUMBERS;
    out->line = at->line;
    out->col = at->col;
    out->nums = mc_alloc(ps->ctx, sizeof(double));
    if (out->nums == NULL)
        return nomem(ps);
    out->nums[0] = x;
    out->count = 1;
    return MC_OK;
}

/* '[' ... ']': numbers, or layers (rows separated by newlines, ';' or ','; blanks too). */
static mc_status parse_array(parser *ps, nf_value *out)
{
    token open = ps->tok;
    memset(out, 0, sizeof *out);
    out->line = open.line;
    out->col = open.col;
    ps->option = NULL;
    mc_status st = lex(ps);
    bool need_sep = false;
    while (st == MC_OK && ps->tok.kind != TK_RBRACK) {
        tk k = ps->tok.kind;
        if (k == TK_EOF)
            return fail_tok(ps, &open, "'[' is never closed by ']'");
        if (k == TK_COMMA || k == TK_SEMI || k == TK_NEWLINE) {
            need_sep = false;
            st = lex(ps);
            continue;
        }
        if (need_sep && !ps->tok.space_before) {
            char buf[64];
            return fail_tok(ps, &ps->tok, "expected ',', ';', a new line or ']', found %s",
                            describe_tok(&ps->tok, buf, sizeof buf));
        }
        token at = ps->tok;
        nf_value elem;
        st = parse_expr(ps, &elem);
        if (st != MC_OK)
            return st;
        if (elem.kind == NF_GRAPH || elem.kind == NF_STRING || elem.kind == NF_CELL) {
            const char *what = kind_name(elem.kind);
            value_free(ps->ctx, &elem);
            return fail_tok(ps, &at,
                            "%s cannot be an element of [...]; expected numbers or "
                            "layers",
                            what);
        }
        if (out->kind == NF_NONE)
            out->kind = elem.kind;
        if (elem.kind != out->kind) {
            value_free(ps->ctx, &elem);
            return fail_tok(ps, &at, "cannot mix numbers and layers in one [...]");
        }
        st = concat(ps, out, &elem);
        need_sep = true;
    }
    if (st == MC_OK && out->kind == NF_NONE)
        out->kind = NF_NUMBERS; /* [] */
    return st == MC_OK ? lex(ps) : st;
}

/* '{' strings '}' */
static mc_status parse_cell(parser *ps, nf_value *out)
{
    token open = ps->tok;
    memset(out, 0, sizeof *out);
    out->kind = NF_CELL;
    out->line = open.line;
    out->col = open.col;
    mc_status st = lex(ps);
    while (st == MC_OK && ps->tok.kind != TK_RBRACE) {
        if (ps->tok.kind == TK_COMMA || ps->tok.kind == TK_SEMI) {
            st = lex(ps);
            continue;
        }
        if (ps->tok.kind == TK_EOF || ps->tok.kind == TK_NEWLINE)
            return fail_tok(ps, &open, "'{' is not closed by '}' on its line");
        if (ps->tok.kind != TK_STRING) {
            char buf[64];
            return fail_tok(ps, &ps->tok, "expected a string in {...}, found %s",
                            describe_tok(&ps->tok, buf, sizeof buf));
        }
        void *cells = out->cells;
        st = reserve(ps, &cells, out->count, &out->cap, (long)out->count + 1, sizeof(char *));
        out->cells = cells;
        if (st != MC_OK)
            return st;
        st = decode_string(ps, &ps->tok, &out->cells[out->count]);
        if (st != MC_OK)
            return st;
        out->count++;
        st = lex(ps);
    }
    return st == MC_OK ? lex(ps) : st;
}

/* '(' args ')' into a growing array of values. */
static mc_status parse_args(parser *ps, nf_value **args, int *n)
{
    token open = ps->tok;
    *args = NULL;
    *n = 0;
    int cap = 0;
    mc_status st = lex(ps);
    if (st == MC_OK && ps->tok.kind == TK_RPAREN)
        return lex(ps);
    while (st == MC_OK) {
        nf_value v;
        /* the option a value is given to, for messages */
        ps->option = *n > 0 && (*args)[*n - 1].kind == NF_STRING ? (*args)[*n - 1].str : NULL;
        st = parse_expr(ps, &v);
        ps->option = NULL; /* the arguments are freed after the call */
        if (st != MC_OK)
            return st;
        void *grown = *args;
        st = reserve(ps, &grown, *n, &cap, (long)*n + 1, sizeof **args);
        *args = grown;
        if (st != MC_OK) {
            value_free(ps->ctx, &v);
            return st;
        }
        (*args)[(*n)++] = v;
        if (ps->tok.kind == TK_COMMA) {
            st = lex(ps);
        } else if (ps->tok.kind == TK_RPAREN) {
            return lex(ps);
        } else {
            char buf[64];
            if (ps->tok.kind == TK_NEWLINE || ps->tok.kind == TK_EOF)
                return fail_tok(ps, &ps->tok,
                                "expected ',' or ')' before %s (the '(' at line %d column %d is "
                                "not closed; use ... to continue a line)",
                                describe_tok(&ps->tok, buf, sizeof buf), open.line, open.col);
            return fail_tok(ps, &ps->tok, "expected ',' or ')', found %s",
                            describe_tok(&ps->tok, buf, sizeof buf));
        }
    }
    return st;
}

static void free_args(mc_ctx *ctx, nf_value *args, int n)
{
    for (int i = 0; i < n; i++)
        value_free(ctx, &args[i]);
    mc_free(ctx, args);
}

static const char *const graph_functions[] = {"layerGraph", "addLayers", "connectLayers",
                                              "disconnectLayers", NULL};

/* The names a misspelt identifier may have meant: layer functions, graph functions and
 * variables. */
static const char *suggest(parser *ps, const char *word)
{
    const char *names[64];
    int n = 0;
    for (const char *f; (f = mc_netfile_layer_function(n)) != NULL && n < 40;)
        names[n++] = f;
    for (const char *const *f = graph_functions; *f != NULL; f++)
        names[n++] = *f;
    for (int i = 0; i < ps->n_vars && n < 62; i++)
        if (ps->vars[i].name[0] != '\0')
            names[n++] = ps->vars[i].name;
    names[n] = NULL;
    return mc__closest(word, names);
}

/* A graph from a value: a graph as it is, a layer array made into one. Takes v. */
static mc_status to_graph(parser *ps, nf_value *v, mc_net **out)
{
    *out = NULL;
    if (v->kind == NF_GRAPH) {
        *out = v->graph;
        v->graph = NULL;
        value_free(ps->ctx, v);
        return MC_OK;
    }
    mc_net *net;
    mc_status st = mc_net_create(ps->ctx, &net);
    if (st == MC_OK) {
        st = mc_net_add_layers(net, v->layers, v->count);
        mc_free(ps->ctx, v->layers);
        v->layers = NULL;
        v->count = 0;
        if (st == MC_OK)
            st = mc_net_assign_names(net);
        if (st != MC_OK)
            mc_net_destroy(net);
        else
            *out = net;
    }
    value_free(ps->ctx, v);
    return st;
}

/* A failure of the graph library, located at the call. */
static mc_status located(parser *ps, const token *at, mc_status st)
{
    if (st == MC_OK || st == MC_ERR_NOMEM)
        return st;
    char msg[768];
    snprintf(msg, sizeof msg, "%s", mc_ctx_message(ps->ctx));
    return fail_tok(ps, at, "%s", msg);
}

/* The variable or bare result the 2-argument connectLayers(src, dst) works on. */
static variable *current_network(parser *ps)
{
    variable *best = NULL;
    for (int i = 0; i < ps->n_vars; i++) {
        variable *v = &ps->vars[i];
        if (v->consumed_line == 0 && (v->value.kind == NF_LAYERS || v->value.kind == NF_GRAPH) &&
            (best == NULL || v->assigned_line >= best->assigned_line))
            best = v;
    }
    return best;
}

static mc_status graph_call(parser *ps, const token *fn, nf_value *args, int n, nf_value *out)
{
    memset(out, 0, sizeof *out);
    out->kind = NF_GRAPH;
    out->line = fn->line;
    out->col = fn->col;
    char name[32];
    snprintf(name, sizeof name, "%.*s", (int)fn->len, fn->p);
    const bool connect = strcmp(name, "connectLayers") == 0;
    mc_status st = MC_OK;
    if (strcmp(name, "layerGraph") == 0) {
        if (n > 1)
            return fail_tok(ps, fn, "layerGraph takes at most one argument, a layer array");
        if (n == 1 && args[0].kind != NF_LAYERS && args[0].kind != NF_GRAPH)
            return nf_fail_at(&ps->here, args[0].line, args[0].col,
                              "layerGraph expects a layer array, not %s", kind_name(args[0].kind));
        if (n == 0)
            return located(ps, fn, mc_net_create(ps->ctx, &out->graph));
        return to_graph(ps, &args[0], &out->graph);
    }
    if (strcmp(name, "addLayers") == 0) {
        if (n != 2 || args[0].kind != NF_GRAPH || args[1].kind != NF_LAYERS)
            return fail_tok(ps, fn,
                            "addLayers expects (lgraph, layers): a layer graph and a "
                            "layer array");
        st = mc_net_add_layers(args[0].graph, args[1].layers, args[1].count);
        mc_free(ps->ctx, args[1].layers);
        args[1].layers = NULL;
        args[1].count = 0;
        if (st == MC_OK)
            st = mc_net_assign_names(args[0].graph);
        if (st != MC_OK)
            return located(ps, fn, st);
        out->graph = args[0].graph;
        args[0].graph = NULL;
        return MC_OK;
    }
    /* connectLayers / disconnectLayers, with or without the graph argument */
    const int first = n == 3 ? 1 : 0;
    if ((n != 2 && n != 3) || (n == 3 && args[0].kind != NF_GRAPH && args[0].kind != NF_LAYERS) ||
        args[first].kind != NF_STRING || args[first + 1].kind != NF_STRING)
        return fail_tok(ps, fn,
                        "%s expects (lgraph, 'source', 'destination') or ('source', "
                        "'destination')",
                        name);
    mc_net *g = NULL;
    variable *target = NULL;
    if (n == 3) {
        st = to_graph(ps, &args[0], &g);
    } else {
        target = current_network(ps);
        if (target == NULL)
            return fail_tok(ps, fn, "%s: there is no layer array or graph to connect yet", name);
        nf_value v = target->value;
        memset(&target->value, 0, sizeof target->value);
        st = to_graph(ps, &v, &g);
    }
    if (st == MC_OK)
        st = connect ? mc_net_connect(g, args[first].str, args[first + 1].str)
                     : mc_net_disconnect(g, args[first].str, args[first + 1].str);
    if (target != NULL) {
        /* the graph stays in the variable it came from */
        target->value.kind = NF_GRAPH;
        target->value.graph = g;
        out->kind = NF_NONE;
    } else {
        out->graph = g;
        if (st != MC_OK) {
            mc_net_destroy(g);
            out->graph = NULL;
        }
    }
    return st == MC_OK ? MC_OK : located(ps, fn, st);
}

mc_status nf_layer_build(mc_ctx *ctx, const char *file, int line, int col, const nf_layer_fn *lf,
                         nf_value *args, int n, mc_layer **out)
{
    *out = NULL;
    nf_call c;
    memset(&c, 0, sizeof c);
    c.ctx = ctx;
    c.file = file;
    c.fn = lf->name;
    c.line = line;
    c.col = col;
    int n_pos = n < lf->max_pos ? n : lf->max_pos;
    /* An optional positional argument is a number (dropoutLayer(0.4)); a string there is the
     * first option's name (dropoutLayer('Name','drop1')). */
    while (n_pos > lf->min_pos && args[n_pos - 1].kind == NF_STRING)
        n_pos--;
    if (n_pos < lf->min_pos)
        return nf_fail_at(&c, line, col, "%s needs %d argument%s before its options, got %d",
                          lf->name, lf->min_pos, lf->min_pos == 1 ? "" : "s", n_pos);
    c.pos = args;
    c.n_pos = n_pos;
    const int rest = n - n_pos;
    if (rest % 2 != 0) {
        const nf_value *last = &args[n - 1];
        if (last->kind == NF_STRING)
            return nf_fail_at(&c, last->line, last->col,
                              "%s: option '%s' has no value (options come in name-value pairs)",
                              lf->name, last->str);
        return nf_fail_at(&c, last->line, last->col,
                          "%s takes %d argument%s and then name-value pairs; this is one too "
                          "many",
                          lf->name, lf->max_pos, lf->max_pos == 1 ? "" : "s");
    }
    nf_option opts[64];
    if (rest / 2 > 64)
        return nf_fail_at(&c, line, col, "%s: too many options", lf->name);
    for (int i = 0; i < rest / 2; i++) {
        const nf_value *nv = &args[n_pos + 2 * i];
        if (nv->kind != NF_STRING)
            return nf_fail_at(&c, nv->line, nv->col,
                              "%s: expected an option name in quotes, found %s", lf->name,
                              kind_name(nv->kind));
        opts[i].name = nv->str;
        opts[i].line = nv->line;
        opts[i].col = nv->col;
        opts[i].value = &args[n_pos + 2 * i + 1];
        opts[i].used = false;
    }
    c.opts = opts;
    c.n_opts = rest / 2;
    mc_status st = lf->build(&c, out);
    if (st != MC_OK) {
        *out = NULL;
        if (st != MC_ERR_FORMAT && st != MC_ERR_NOMEM) { /* a constructor's own message, located */
            char msg[768];
            snprintf(msg, sizeof msg, "%s", mc_ctx_message(ctx));
            nf_fail_at(&c, line, col, "%s", msg);
        }
    }
    return st;
}

/* Builds a layer from a call of a registry function. */
static mc_status layer_call(parser *ps, const token *fn, const nf_layer_fn *lf, nf_value *args,
                            int n, nf_value *out)
{
    memset(out, 0, sizeof *out);
    out->kind = NF_LAYERS;
    out->line = fn->line;
    out->col = fn->col;
    out->layers = mc_alloc(ps->ctx, sizeof(mc_layer *));
    if (out->layers == NULL)
        return nomem(ps);
    mc_layer *layer = NULL;
    mc_status st = nf_layer_build(ps->ctx, ps->file, fn->line, fn->col, lf, args, n, &layer);
    if (st != MC_OK) {
        mc_free(ps->ctx, out->layers);
        out->layers = NULL;
        return st;
    }
    out->layers[0] = layer;
    out->count = 1;
    return MC_OK;
}

static mc_status parse_ident(parser *ps, nf_value *out)
{
    token id = ps->tok;
    mc_status st = lex(ps);
    if (st != MC_OK)
        return st;
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)(id.len < 63 ? id.len : 63), id.p);
    if (strcmp(name, "true") == 0 || strcmp(name, "false") == 0)
        return make_number(ps, name[0] == 't', &id, out);
    if (strcmp(name, "Inf") == 0 || strcmp(name, "inf") == 0)
        return make_number(ps, INFINITY, &id, out);
    if (strcmp(name, "NaN") == 0 || strcmp(name, "nan") == 0)
        return make_number(ps, NAN, &id, out);
    variable *var = find_var(ps, id.p, id.len);
    if (var != NULL) {
        if (ps->tok.kind == TK_LPAREN)
            return fail_tok(ps, &ps->tok, "indexing a variable ('%s(...)') is not supported", name);
        return use_var(ps, var, &id, out);
    }
    const nf_layer_fn *lf = nf_find_layer_fn(name);
    bool graph_fn = false;
    for (const char *const *f = graph_functions; *f != NULL; f++)
        graph_fn |= strcmp(*f, name) == 0;
    const nf_matlab_name *matlab = lf == NULL && !graph_fn ? nf_find_matlab_name(name) : NULL;
    if (matlab != NULL)
        return fail_tok(ps, &id, "'%s' is a MATLAB %s that minicnn does not provide%s%s%s", name,
                        matlab->is_layer ? "layer" : "function",
                        matlab->is_layer ? "" : " in network files",
                        matlab->hint != NULL ? "; " : "", matlab->hint != NULL ? matlab->hint : "");
    if (lf == NULL && !graph_fn) {
        const char *hint = suggest(ps, name);
        /* the closest MATLAB name, when minicnn lacks it and it is closer than the hint: a
         * misspelt dropoutLayer is not sent to reluLayer */
        const char *matlab_names[160];
        int n_matlab = 0;
        for (const char *m; n_matlab < 159 && (m = nf_matlab_name_at(n_matlab)) != NULL;)
            matlab_names[n_matlab++] = m;
        matlab_names[n_matlab] = NULL;
        const char *lacked = mc__closest(name, matlab_names);
        if (lacked != NULL && nf_find_layer_fn(lacked) != NULL)
            lacked = NULL;
        const char *pair[3] = {lacked, hint, NULL};
        if (lacked != NULL && (hint == NULL || mc__closest(name, pair) == lacked))
            return fail_tok(ps, &id,
                            "unknown function or variable '%s' (MATLAB's '%s' is not "
                            "provided by minicnn)",
                            name, lacked);
        char suggestion[96] = "";
        if (hint != NULL)
            snprintf(suggestion, sizeof suggestion, " (did you mean '%s'?)", hint);
        return fail_tok(ps, &id, "unknown function or variable '%s'%s", name, suggestion);
    }
    nf_value *args = NULL;
    int n = 0;
    if (ps->tok.kind == TK_LPAREN) {
        st = parse_args(ps, &args, &n);
        if (st != MC_OK) {
            free_args(ps->ctx, args, n);
            return st;
        }
    }
    st = lf != NULL ? layer_call(ps, &id, lf, args, n, out) : graph_call(ps, &id, args, n, out);
    free_args(ps->ctx, args, n);
    return st;
}

static mc_status parse_value(parser *ps, nf_value *out);

/* A value; on failure *out is empty (whatever was built is freed). */
static mc_status parse_expr(parser *ps, nf_value *out)
{
    if (ps->depth >= MAX_DEPTH) {
        memset(out, 0, sizeof *out);
        return fail_tok(ps, &ps->tok,
                        "values nested more than %d deep ('[' and '(' inside one "
                        "another); a network file needs far fewer",
                        MAX_DEPTH);
    }
    ps->depth++;
    mc_status st = parse_value(ps, out);
    ps->depth--;
    if (st != MC_OK)
        value_free(ps->ctx, out);
    return st;
}

static mc_status parse_value(parser *ps, nf_value *out)
{
    memset(out, 0, sizeof *out);
    token t = ps->tok;
    char buf[64];
    switch (t.kind) {
    case TK_NUMBER: {
        mc_status st = lex(ps);
        return st == MC_OK ? make_number(ps, t.num, &t, out) : st;
    }
    case TK_MINUS:
    case TK_PLUS: {
        mc_status st = lex(ps);
        if (st != MC_OK)
            return st;
        if (ps->tok.space_before || (ps->tok.kind != TK_NUMBER && !tok_is(&ps->tok, "Inf")))
            return fail_tok(ps, &t,
                            "expected a number right after '%c' (arithmetic is not "
                            "supported in network files)",
                            t.p[0]);
        double v = ps->tok.kind == TK_NUMBER ? ps->tok.num : INFINITY;
        st = lex(ps);
        return st == MC_OK ? make_number(ps, t.kind == TK_MINUS ? -v : v, &t, out) : st;
    }
    case TK_STRING: {
        out->kind = NF_STRING;
        out->line = t.line;
        out->col = t.col;
        mc_status st = decode_string(ps, &t, &out->str);
        return st == MC_OK ? lex(ps) : st;
    }
    case TK_LBRACK:
        return parse_array(ps, out);
    case TK_LBRACE:
        return parse_cell(ps, out);
    case TK_IDENT:
        return parse_ident(ps, out);
    case TK_AT:
        /* worded for the option the handle is given to */
        if (ps->option != NULL && strcasecmp(ps->option, "Normalization") == 0)
            return fail_tok(ps, &t,
                            "function handles are not supported in network files; "
                            "Normalization must be 'zerocenter', 'zscore', "
                            "'rescale-symmetric', 'rescale-zero-one' or 'none'");
        if (ps->option != NULL && strstr(ps->option, "nitializer") != NULL)
            return fail_tok(ps, &t,
                            "function handles are not supported in network files; name "
                            "an initializer ('glorot', 'he', 'narrow-normal', 'zeros', "
                            "'ones') or use the C API");
        return fail_tok(ps, &t, "function handles are not supported in network files");
    default:
        return fail_tok(ps, &t, "expected a value, found %s", describe_tok(&t, buf, sizeof buf));
    }
}

/* ---- Statements ------------------------------------------------------------------------- */

static mc_status end_statement(parser *ps)
{
    if (ps->tok.kind == TK_SEMI || ps->tok.kind == TK_COMMA) {
        mc_status st = lex(ps);
        if (st != MC_OK)
            return st;
        if (ps->tok.kind == TK_NEWLINE || ps->tok.kind == TK_EOF)
            return ps->tok.kind == TK_NEWLINE ? lex(ps) : MC_OK;
        return MC_OK; /* another statement on the same line */
    }
    if (ps->tok.kind == TK_NEWLINE)
        return lex(ps);
    if (ps->tok.kind == TK_EOF)
        return MC_OK;
    char buf[64];
    return fail_tok(ps, &ps->tok, "expected the end of the statement (a new line or ';'), found %s",
                    describe_tok(&ps->tok, buf, sizeof buf));
}

static mc_status statement(parser *ps)
{
    token first = ps->tok;
    if (first.kind == TK_IDENT) {
        /* An assignment when '=' follows the identifier. */
        parser save = *ps;
        mc_status st = lex(ps);
        if (st != MC_OK)
            return st;
        if (ps->tok.kind == TK_ASSIGN) {
            const nf_layer_fn *lf = NULL;
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)(first.len < 63 ? first.len : 63), first.p);
            lf = nf_find_layer_fn(name);
            if (lf != NULL)
                return fail_tok(ps, &first, "cannot assign to '%s': it is a layer function", name);
            st = lex(ps);
            nf_value v;
            if (st == MC_OK)
                st = parse_expr(ps, &v);
            if (st != MC_OK)
                return st;
            if (v.kind == NF_NONE)
                return fail_tok(ps, &first, "the right-hand side of '%s =' has no value", name);
            st = set_var(ps, first.p, first.len, &v, first.line);
            if (st != MC_OK) {
                value_free(ps->ctx, &v);
                return st;
            }
            return end_statement(ps);
        }
        *ps = save; /* not an assignment: an expression starting with the identifier */
    }
    nf_value v;
    mc_status st = parse_expr(ps, &v);
    if (st != MC_OK)
        return st;
    if (v.kind == NF_LAYERS || v.kind == NF_GRAPH) {
        st = set_var(ps, "", 0, &v, first.line);
        if (st != MC_OK) {
            value_free(ps->ctx, &v);
            return st;
        }
        ps->vars[ps->n_vars - 1].name[0] = '\0';
    } else {
        value_free(ps->ctx, &v);
    }
    return end_statement(ps);
}

static void parser_free(parser *ps)
{
    for (int i = 0; i < ps->n_vars; i++) {
        value_free(ps->ctx, &ps->vars[i].value);
        mc_free(ps->ctx, ps->vars[i].name);
    }
    mc_free(ps->ctx, ps->vars);
    mc__name_index_release(ps->ctx, &ps->index);
}

static bool has_output_layer(const nf_value *v)
{
    if (v->kind == NF_GRAPH) {
        for (int i = 0; i < mc_net_num_layers(v->graph); i++)
            if (mc_net_layer(v->graph, i)->vt->role == MC_ROLE_OUTPUT)
                return true;
        return false;
    }
    for (int i = 0; i < v->count; i++)
        if (v->layers[i]->vt->role == MC_ROLE_OUTPUT)
            return true;
    return false;
}

/* The network: the one layer array or graph left unused at the end. When several are left,
 * the one with an output layer (else the last assigned) is the network and the first other
 * one is reported. */
static mc_status take_result(parser *ps, mc_net **out, bool *is_graph)
{
    variable *found = NULL;
    int left = 0, with_output = 0;
    for (int i = 0; i < ps->n_vars; i++) {
        variable *v = &ps->vars[i];
        if (v->consumed_line > 0 || (v->value.kind != NF_LAYERS && v->value.kind != NF_GRAPH))
            continue;
        left++;
        if (has_output_layer(&v->value)) {
            with_output++;
            found = v;
        } else if (with_output == 0) {
            found = v;
        }
    }
    if (found == NULL)
        return nf_fail_at(&ps->here, ps->line, 1,
                          "the file defines no network: expected a layer array such as "
                          "layers = [imageInputLayer(...) ... classificationLayer]");
    for (int i = 0; left > 1 && i < ps->n_vars; i++) {
        variable *v = &ps->vars[i];
        if (v == found || v->consumed_line > 0 ||
            (v->value.kind != NF_LAYERS && v->value.kind != NF_GRAPH))
            continue;
        char what[96];
        if (v->name[0] != '\0')
            snprintf(what, sizeof what, "'%s'", v->name);
        else
            snprintf(what, sizeof what, "the %s", kind_name(v->value.kind));
        return nf_fail_at(&ps->here, v->assigned_line, 1,
                          "%s (line %d) is %s that is not part of the network; add it with "
                          "addLayers or remove it",
                          what, v->assigned_line, kind_name(v->value.kind));
    }
    *is_graph = found->value.kind == NF_GRAPH;
    mc_net *net = NULL;
    mc_status st = MC_OK;
    if (*is_graph) {
        st = to_graph(ps, &found->value, &net);
    } else {
        /* a plain Layer array keeps its layers unnamed, as MATLAB displays them */
        st = mc_net_create(ps->ctx, &net);
        if (st == MC_OK)
            st = mc_net_add_layers(net, found->value.layers, found->value.count);
        mc_free(ps->ctx, found->value.layers);
        found->value.layers = NULL;
        found->value.count = 0;
        if (st != MC_OK) {
            mc_net_destroy(net);
            net = NULL;
        }
    }
    if (st == MC_OK)
        *out = net;
    return st;
}

static void parser_init(parser *ps, mc_ctx *ctx, const char *text, size_t len, const char *file)
{
    memset(ps, 0, sizeof *ps);
    ps->ctx = ctx;
    ps->file = file;
    ps->text = text;
    ps->len = len;
    ps->line = ps->col = 1;
    ps->prev = TK_NEWLINE;
    ps->here.ctx = ctx;
    ps->here.file = file;
}

mc_status mc_netfile_parse(mc_ctx *ctx, const char *text, size_t len, const char *filename,
                           mc_net **out, bool *is_graph)
{
    *out = NULL;
    bool graph = false;
    parser ps;
    parser_init(&ps, ctx, text, len, filename != NULL ? filename : "network");
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\0') {
            ps.pos = i;
            token t = {TK_OTHER, text + i, 1, 0, 0, false, 0};
            /* find the line and column of the NUL for the message */
            t.line = 1;
            t.col = 1;
            for (size_t k = 0; k < i; k++) {
                t.col = text[k] == '\n' ? 1 : t.col + 1;
                t.line += text[k] == '\n';
            }
            return fail_tok(&ps, &t, "unexpected NUL byte: this is not a text file");
        }
    mc_status st = lex(&ps);
    while (st == MC_OK && ps.tok.kind != TK_EOF) {
        if (ps.tok.kind == TK_NEWLINE || ps.tok.kind == TK_SEMI || ps.tok.kind == TK_COMMA)
            st = lex(&ps);
        else
            st = statement(&ps);
    }
    if (st == MC_OK)
        st = take_result(&ps, out, &graph);
    if (st == MC_OK) {
        st = mc_net_set_source(*out, text, len);
        if (st != MC_OK) {
            mc_net_destroy(*out);
            *out = NULL;
        }
    }
    parser_free(&ps);
    if (is_graph != NULL)
        *is_graph = graph;
    return st;
}

mc_status mc_netfile_load(mc_ctx *ctx, const char *path, mc_net **out, bool *is_graph)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return mc_ctx_fail(ctx, MC_ERR_IO, "cannot open network file '%s': %s", path,
                           strerror(errno));
    const size_t limit = 16u << 20;
    char *text = mc_alloc(ctx, limit + 1);
    if (text == NULL) {
        fclose(f);
        return mc__nomem(ctx, "reading a network file");
    }
    size_t len = fread(text, 1, limit + 1, f);
    int err = ferror(f) ? errno : 0;
    fclose(f);
    mc_status st = MC_OK;
    if (err != 0)
        st = mc_ctx_fail(ctx, MC_ERR_IO, "cannot read network file '%s': %s", path, strerror(err));
    else if (len > limit)
        st = mc_ctx_fail(ctx, MC_ERR_FORMAT,
                         "network file '%s' is larger than 16 MiB; is it really a network file?",
                         path);
    if (st == MC_OK) {
        const char *base = strrchr(path, '/');
        st = mc_netfile_parse(ctx, text, len, base != NULL ? base + 1 : path, out, is_graph);
    }
    mc_free(ctx, text);
    return st;
}

mc_status mc_layer_parse(mc_ctx *ctx, const char *expr, mc_layer **out)
{
    *out = NULL;
    parser ps;
    parser_init(&ps, ctx, expr, strlen(expr), "expression");
    nf_value v;
    memset(&v, 0, sizeof v);
    mc_status st = lex(&ps);
    if (st == MC_OK)
        st = parse_expr(&ps, &v);
    if (st == MC_OK && ps.tok.kind != TK_EOF && ps.tok.kind != TK_NEWLINE &&
        ps.tok.kind != TK_SEMI) {
        char buf[64];
        st = fail_tok(&ps, &ps.tok, "expected the end of the expression, found %s",
                      describe_tok(&ps.tok, buf, sizeof buf));
    }
    if (st == MC_OK && (v.kind != NF_LAYERS || v.count != 1))
        st = nf_fail_at(&ps.here, 1, 1, "expected one layer, such as reluLayer(), not %s",
                        v.kind == NF_LAYERS ? "several layers" : kind_name(v.kind));
    if (st == MC_OK) {
        *out = v.layers[0];
        v.count = 0;
    }
    value_free(ctx, &v);
    parser_free(&ps);
    return st;
}

mc_status mc_layers_parse(mc_ctx *ctx, const char *expr, mc_net **out)
{
    *out = NULL;
    parser ps;
    parser_init(&ps, ctx, expr, strlen(expr), "expression");
    nf_value all;
    memset(&all, 0, sizeof all);
    all.kind = NF_LAYERS;
    mc_status st = lex(&ps);
    while (st == MC_OK && ps.tok.kind != TK_EOF) {
        if (ps.tok.kind == TK_SEMI || ps.tok.kind == TK_COMMA || ps.tok.kind == TK_NEWLINE) {
            st = lex(&ps);
            continue;
        }
        token at = ps.tok;
        nf_value v;
        st = parse_expr(&ps, &v);
        if (st == MC_OK && v.kind != NF_LAYERS) {
            st = fail_tok(&ps, &at, "expected layers, such as reluLayer(), not %s",
                          kind_name(v.kind));
            value_free(ctx, &v);
        }
        if (st == MC_OK)
            st = concat(&ps, &all, &v);
        if (st == MC_OK && ps.tok.kind != TK_EOF && ps.tok.kind != TK_SEMI &&
            ps.tok.kind != TK_COMMA && ps.tok.kind != TK_NEWLINE) {
            char buf[64];
            st = fail_tok(&ps, &ps.tok, "expected ';', ',' or the end of the expression, found %s",
                          describe_tok(&ps.tok, buf, sizeof buf));
        }
    }
    if (st == MC_OK && all.count == 0)
        st = nf_fail_at(&ps.here, 1, 1, "expected a layer, such as reluLayer()");
    if (st == MC_OK)
        st = mc_net_create(ctx, out);
    if (st == MC_OK) {
        st = mc_net_add_layers(*out, all.layers, all.count);
        all.count = 0; /* the network has them, also on failure */
        if (st != MC_OK) {
            mc_net_destroy(*out);
            *out = NULL;
        }
    }
    value_free(ctx, &all);
    parser_free(&ps);
    return st;
}

/* ---- One call of a function that is not a layer (src/augment.c) ------------------------ */

void nf_free_args(mc_ctx *ctx, nf_value *args, int n)
{
    free_args(ctx, args, n);
}

/* Appends v (taken, also on failure) to the growing *args. */
static mc_status push_arg(parser *ps, nf_value **args, int *n, int *cap, nf_value *v)
{
    void *grown = *args;
    mc_status st = reserve(ps, &grown, *n, cap, (long)*n + 1, sizeof **args);
    *args = grown;
    if (st != MC_OK) {
        value_free(ps->ctx, v);
        return st;
    }
    (*args)[(*n)++] = *v;
    return MC_OK;
}

/* One argument item: 'Name' or a value, or Name=Value (two values). */
static mc_status call_item(parser *ps, const char *handle_hint, nf_value **args, int *n, int *cap)
{
    const char *option =
        *n % 2 == 1 && (*args)[*n - 1].kind == NF_STRING ? (*args)[*n - 1].str : NULL;
    if (ps->tok.kind == TK_AT)
        return fail_tok(ps, &ps->tok,
                        "%s%sfunction handles are not supported (minicnn runs no "
                        "MATLAB code); %s",
                        option != NULL ? option : "", option != NULL ? ": " : "", handle_hint);
    if (ps->tok.kind == TK_IDENT && *n % 2 == 0) {
        parser save = *ps;
        token name = ps->tok;
        mc_status st = lex(ps);
        if (st != MC_OK)
            return st;
        if (ps->tok.kind == TK_ASSIGN) { /* Name=Value (R2021a) */
            nf_value s;
            memset(&s, 0, sizeof s);
            s.kind = NF_STRING;
            s.line = name.line;
            s.col = name.col;
            if ((s.str = mc_alloc(ps->ctx, name.len + 1)) == NULL)
                return nomem(ps);
            memcpy(s.str, name.p, name.len);
            s.str[name.len] = '\0';
            st = push_arg(ps, args, n, cap, &s);
            if (st == MC_OK)
                st = lex(ps);
            return st == MC_OK ? call_item(ps, handle_hint, args, n, cap) : st;
        }
        *ps = save;
    }
    nf_value v;
    ps->option = option;
    mc_status st = parse_expr(ps, &v);
    ps->option = NULL;
    return st == MC_OK ? push_arg(ps, args, n, cap, &v) : st;
}

mc_status nf_parse_call(mc_ctx *ctx, const char *expr, const char *file, const char *fn,
                        const char *handle_hint, nf_value **args, int *n)
{
    *args = NULL;
    *n = 0;
    parser ps;
    parser_init(&ps, ctx, expr, strlen(expr), file);
    char buf[64];
    mc_status st = lex(&ps);
    if (st == MC_OK && !tok_is(&ps.tok, fn))
        st = fail_tok(&ps, &ps.tok, "found %s where a call of %s belongs, such as %s('Name',value)",
                      describe_tok(&ps.tok, buf, sizeof buf), fn, fn);
    if (st == MC_OK)
        st = lex(&ps);
    if (st == MC_OK && ps.tok.kind == TK_LPAREN) {
        token open = ps.tok;
        int cap = 0;
        st = lex(&ps);
        bool done = st == MC_OK && ps.tok.kind == TK_RPAREN;
        while (st == MC_OK && !done) {
            st = call_item(&ps, handle_hint, args, n, &cap);
            if (st != MC_OK)
                break;
            if (ps.tok.kind == TK_RPAREN)
                done = true;
            else if (ps.tok.kind == TK_COMMA)
                st = lex(&ps);
            else if (ps.tok.kind == TK_EOF || ps.tok.kind == TK_NEWLINE)
                st = fail_tok(&ps, &open, "'(' is never closed by ')'");
            else
                st = fail_tok(&ps, &ps.tok, "%s follows an argument; expected ',' or ')'",
                              describe_tok(&ps.tok, buf, sizeof buf));
        }
        if (st == MC_OK)
            st = lex(&ps); /* the ')' */
    }
    if (st == MC_OK && ps.tok.kind == TK_SEMI)
        st = lex(&ps);
    if (st == MC_OK && ps.tok.kind != TK_EOF && ps.tok.kind != TK_NEWLINE)
        st = fail_tok(&ps, &ps.tok, "%s follows the call; expected the end of the expression",
                      describe_tok(&ps.tok, buf, sizeof buf));
    parser_free(&ps);
    if (st != MC_OK) {
        free_args(ctx, *args, *n);
        *args = NULL;
        *n = 0;
    }
    return st;
}
