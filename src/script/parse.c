/* SPDX-License-Identifier: MIT */
/* The script language's lexer and parser: MATLAB statements into a syntax tree, checked as a
 * whole before anything runs. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script_internal.h"

typedef enum tk {
    T_EOF,
    T_NEWLINE,
    T_IDENT,
    T_NUMBER,
    T_CHAR,
    T_STRING,
    T_PUNCT /* text in p/len */
} tk;

typedef struct token {
    tk kind;
    size_t pos, len;
    int line, col;
    bool space_before;
    double num;
} token;

typedef struct parser {
    mc_script *s;
    const char *text;
    size_t len, pos;
    int line, col;
    token tok, prev;
    int bracket; /* inside [ ] or { }: blanks separate elements, newlines separate rows */
    int paren;   /* inside ( ) within brackets: blanks do not separate */
    int index;   /* inside an index's ( ) or { }: 'end' is a value */
    int depth;
    stmt *cur; /* the statement being parsed, for messages */
    size_t stmt_start;
    int stmt_line, stmt_col;
} parser;

#define MAX_DEPTH 200
/* How deep a syntax tree may be: a chain of binary operators deepens it without nesting. */
#define MAX_TREE_DEPTH 400

/* parent holds child: its depth grows to cover it. */
static void deepen(expr *parent, const expr *child)
{
    if (child != NULL && child->depth + 1 > parent->depth)
        parent->depth = child->depth + 1;
}

mc_status sc_fail(const mc_script *s, const stmt *st, int line, int col, mc_status status,
                  const char *fmt, ...)
{
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (st == NULL)
        return mc_ctx_fail(s->ctx, status, "%s:%d:%d: %s", s->file, line, col, msg);
    /* the statement's line where the error is (its first line otherwise), blanks, a trailing
     * ';' or ',' and a continuation's "..." trimmed, at most 120 bytes */
    size_t a = st->start, b = st->end;
    int at = st->line;
    for (size_t i = st->start; i < b && at < line; i++)
        if (s->text[i] == '\n') {
            at++;
            a = i + 1;
        }
    while (a < b && (s->text[a] == ' ' || s->text[a] == '\t'))
        a++;
    size_t e = a;
    while (e < b && s->text[e] != '\n' && s->text[e] != '\r')
        e++;
    bool more = false; /* text on the statement's lines after this one */
    for (size_t i = e; i < b && !more; i++)
        more = s->text[i] != ' ' && s->text[i] != '\t' && s->text[i] != '\r' && s->text[i] != '\n';
    const bool continued = e >= a + 3 && memcmp(s->text + e - 3, "...", 3) == 0;
    while (e > a && (s->text[e - 1] == ' ' || s->text[e - 1] == '\t' || s->text[e - 1] == ';' ||
                     s->text[e - 1] == ',' || s->text[e - 1] == '.'))
        e--;
    more |= continued;
    const bool cut = e - a > 120;
    const int n = (int)(cut ? 120 : e - a);
    return mc_ctx_fail(s->ctx, status, "%s:%d:%d: `%.*s%s`: %s", s->file, line, col, n, s->text + a,
                       more || cut ? " ..." : "", msg);
}

static mc_status fail(parser *ps, const token *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static mc_status fail(parser *ps, const token *t, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    stmt tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.line = ps->stmt_line;
    tmp.start = ps->stmt_start;
    tmp.end = ps->pos > ps->stmt_start ? ps->pos : ps->stmt_start;
    /* the whole line of the statement, for the message */
    while (tmp.end < ps->len && ps->text[tmp.end] != '\n')
        tmp.end++;
    return sc_fail(ps->s, &tmp, t->line, t->col, MC_ERR_FORMAT, "%s", msg);
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

static bool is_alpha(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* Whether the previous token ends a value: a quote right after it is a transpose. */
static bool ends_value(const parser *ps)
{
    const token *t = &ps->prev;
    if (t->kind == T_IDENT || t->kind == T_NUMBER || t->kind == T_CHAR || t->kind == T_STRING)
        return true;
    return t->kind == T_PUNCT && t->len == 1 && strchr(")]}", ps->text[t->pos]) != NULL;
}

static mc_status lex(parser *ps)
{
    ps->prev = ps->tok;
    token *t = &ps->tok;
    bool space = false;
    for (;;) {
        int ch = peekc(ps, 0);
        if (ch == ' ' || ch == '\t' || ch == '\r') {
            advance(ps, 1);
            space = true;
        } else if (ch == '%' && line_is(ps, ps->pos, "%{")) {
            token open = {T_PUNCT, ps->pos, 2, ps->line, ps->col, false, 0};
            skip_to_eol(ps);
            for (;;) {
                if (ps->pos >= ps->len)
                    return fail(ps, &open, "block comment '%%{' is never closed by '%%}'");
                advance(ps, 1);
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
            skip_to_eol(ps);
            advance(ps, 1);
            space = true;
        } else {
            break;
        }
    }
    t->pos = ps->pos;
    t->line = ps->line;
    t->col = ps->col;
    t->space_before = space;
    t->len = 1;
    int ch = peekc(ps, 0);
    if (ch < 0) {
        t->kind = T_EOF;
        t->len = 0;
    } else if (ch == '\n') {
        t->kind = T_NEWLINE;
    } else if (is_alpha(ch)) {
        size_t n = 1;
        while (is_alpha(peekc(ps, n)) || is_digit(peekc(ps, n)) || peekc(ps, n) == '_')
            n++;
        t->kind = T_IDENT;
        t->len = n;
    } else if (is_digit(ch) || (ch == '.' && is_digit(peekc(ps, 1)))) {
        size_t n = 0;
        while (is_digit(peekc(ps, n)))
            n++;
        if (peekc(ps, n) == '.' && !(peekc(ps, n + 1) == '*' || peekc(ps, n + 1) == '/' ||
                                     peekc(ps, n + 1) == '^' || peekc(ps, n + 1) == '\'')) {
            n++;
            while (is_digit(peekc(ps, n)))
                n++;
        }
        if (peekc(ps, n) == 'e' || peekc(ps, n) == 'E') {
            size_t m = n + 1;
            if (peekc(ps, m) == '+' || peekc(ps, m) == '-')
                m++;
            if (!is_digit(peekc(ps, m))) {
                t->len = m;
                return fail(ps, t, "malformed number '%.*s': expected digits after the exponent",
                            (int)m, ps->text + t->pos);
            }
            while (is_digit(peekc(ps, m)))
                m++;
            n = m;
        }
        char buf[64];
        if (n >= sizeof buf)
            return fail(ps, t, "number too long");
        memcpy(buf, ps->text + t->pos, n);
        buf[n] = '\0';
        t->kind = T_NUMBER;
        t->len = n;
        t->num = strtod(buf, NULL);
        if (is_alpha(peekc(ps, n)) || peekc(ps, n) == '_')
            return fail(ps, t, "malformed number '%.*s%c'", (int)n, buf, peekc(ps, n));
    } else if (ch == '\'' && !space && ends_value(ps)) {
        return fail(ps, t, "the transpose operator ' is not supported");
    } else if (ch == '\'' || ch == '"') {
        size_t n = 1;
        for (;;) {
            int c2 = peekc(ps, n);
            if (c2 < 0 || c2 == '\n') {
                t->len = n;
                return fail(ps, t, "the string starting here is not closed by %c on its line", ch);
            }
            n++;
            if (c2 == ch) {
                if (peekc(ps, n) == ch)
                    n++;
                else
                    break;
            }
        }
        t->kind = ch == '\'' ? T_CHAR : T_STRING;
        t->len = n;
    } else {
        static const char *const two[] = {"==", "~=", "<=", ">=", "&&", "||",
                                          ".*", "./", ".^", ".'", "!="};
        t->kind = T_PUNCT;
        for (size_t i = 0; i < sizeof two / sizeof two[0]; i++)
            if (ch == two[i][0] && peekc(ps, 1) == two[i][1])
                t->len = 2;
        if (t->len == 1 && strchr("()[]{},;=+-*/^<>&|~:.@", ch) == NULL) {
            if (ch >= 0x20 && ch < 0x7f)
                return fail(ps, t, "unexpected character '%c'", ch);
            return fail(ps, t, "unexpected byte 0x%02x (scripts are ASCII)", ch);
        }
    }
    advance(ps, t->len);
    return MC_OK;
}

static bool is_p(const token *t, const parser *ps, const char *p)
{
    return t->kind == T_PUNCT && t->len == strlen(p) && memcmp(ps->text + t->pos, p, t->len) == 0;
}

static bool is_word(const token *t, const parser *ps, const char *w)
{
    return t->kind == T_IDENT && t->len == strlen(w) && memcmp(ps->text + t->pos, w, t->len) == 0;
}

static mc_status nomem(parser *ps)
{
    return mc__nomem(ps->s->ctx, "parsing a script");
}

static expr *new_expr(parser *ps, ex_kind kind, const token *at)
{
    expr *e = mc__calloc(ps->s->ctx, 1, sizeof *e);
    if (e != NULL) {
        e->kind = kind;
        e->line = at->line;
        e->col = at->col;
        e->start = at->pos;
        e->end = at->pos + at->len;
        e->depth = 1;
    }
    return e;
}

void sc_expr_free(mc_ctx *ctx, expr *e)
{
    if (e == NULL)
        return;
    mc_free(ctx, e->str);
    sc_expr_free(ctx, e->a);
    sc_expr_free(ctx, e->b);
    sc_expr_free(ctx, e->c);
    for (int i = 0; i < e->n; i++)
        sc_expr_free(ctx, e->items[i]);
    mc_free(ctx, e->items);
    mc_free(ctx, e->row_of);
    mc_free(ctx, e);
}

void sc_stmt_free(mc_ctx *ctx, stmt *st)
{
    if (st == NULL)
        return;
    for (int i = 0; i < st->n_outs; i++)
        mc_free(ctx, st->outs[i]);
    mc_free(ctx, st->outs);
    sc_expr_free(ctx, st->rhs);
    for (int i = 0; i < st->n_body; i++)
        sc_stmt_free(ctx, st->body[i]);
    mc_free(ctx, st->body);
    mc_free(ctx, st);
}

static char *tok_text(parser *ps, const token *t)
{
    char *s = mc_alloc(ps->s->ctx, t->len + 1);
    if (s != NULL) {
        memcpy(s, ps->text + t->pos, t->len);
        s[t->len] = '\0';
    }
    return s;
}

/* The text of a quoted string, its doubled quotes made one. */
static char *string_text(parser *ps, const token *t)
{
    char *s = mc_alloc(ps->s->ctx, t->len);
    if (s == NULL)
        return NULL;
    const char q = ps->text[t->pos];
    size_t n = 0;
    for (size_t i = t->pos + 1; i + 1 < t->pos + t->len; i++) {
        s[n++] = ps->text[i];
        if (ps->text[i] == q)
            i++;
    }
    s[n] = '\0';
    return s;
}

static mc_status push_item(parser *ps, expr *list, expr *item, int row)
{
    if ((list->n & (list->n - 1)) == 0) { /* grow at powers of two */
        size_t cap = list->n == 0 ? 4 : (size_t)list->n * 2;
        if (cap < 4)
            cap = 4;
        expr **items = mc_alloc(ps->s->ctx, cap * sizeof *items);
        int *rows = mc_alloc(ps->s->ctx, cap * sizeof *rows);
        if (items == NULL || rows == NULL) {
            mc_free(ps->s->ctx, items);
            mc_free(ps->s->ctx, rows);
            sc_expr_free(ps->s->ctx, item);
            return nomem(ps);
        }
        if (list->n > 0) {
            memcpy(items, list->items, (size_t)list->n * sizeof *items);
            if (list->row_of != NULL)
                memcpy(rows, list->row_of, (size_t)list->n * sizeof *rows);
        }
        mc_free(ps->s->ctx, list->items);
        mc_free(ps->s->ctx, list->row_of);
        list->items = items;
        list->row_of = rows;
    }
    list->row_of[list->n] = row;
    list->items[list->n++] = item;
    deepen(list, item);
    return MC_OK;
}

static mc_status parse_expr(parser *ps, expr **out);

/* Arguments up to the closing `close` (")" or "}"); Name=Value pairs become 'Name', value. */
static mc_status parse_args(parser *ps, expr *call, const char *close, const token *open)
{
    const int saved_bracket = ps->bracket, saved_paren = ps->paren;
    ps->paren++;
    ps->index++;
    if (strcmp(close, ")") == 0 || ps->bracket == 0)
        ps->bracket = 0;
    mc_status st = lex(ps);
    while (st == MC_OK && ps->tok.kind == T_NEWLINE && saved_bracket > 0)
        st = lex(ps);
    if (st == MC_OK && is_p(&ps->tok, ps, close)) {
        ps->bracket = saved_bracket;
        ps->paren = saved_paren;
        ps->index--;
        call->end = ps->tok.pos + 1;
        return lex(ps);
    }
    while (st == MC_OK) {
        expr *arg = NULL;
        if (is_p(&ps->tok, ps, ":")) {
            token c = ps->tok;
            st = lex(ps);
            if (st == MC_OK && (is_p(&ps->tok, ps, ",") || is_p(&ps->tok, ps, close))) {
                arg = new_expr(ps, EX_COLON, &c);
                if (arg == NULL)
                    st = nomem(ps);
            } else if (st == MC_OK) {
                st = fail(ps, &c, "expected an expression before ':'");
            }
        } else if (ps->tok.kind == T_IDENT) {
            /* Name=Value (R2021a): an identifier followed by a single '=' */
            token name = ps->tok;
            size_t q = ps->pos;
            while (q < ps->len && (ps->text[q] == ' ' || ps->text[q] == '\t'))
                q++;
            if (q < ps->len && ps->text[q] == '=' && (q + 1 >= ps->len || ps->text[q + 1] != '=')) {
                arg = new_expr(ps, EX_CHAR, &name);
                if (arg == NULL || (arg->str = tok_text(ps, &name)) == NULL) {
                    sc_expr_free(ps->s->ctx, arg);
                    return nomem(ps);
                }
                st = lex(ps); /* the '=' */
                if (st == MC_OK)
                    st = lex(ps);
                if (st == MC_OK)
                    st = push_item(ps, call, arg, 0); /* frees arg if it fails */
                else
                    sc_expr_free(ps->s->ctx, arg);
                arg = NULL;
                if (st == MC_OK)
                    st = parse_expr(ps, &arg);
            } else {
                st = parse_expr(ps, &arg);
            }
        } else {
            st = parse_expr(ps, &arg);
        }
        if (st == MC_OK)
            st = push_item(ps, call, arg, 0);
        else
            sc_expr_free(ps->s->ctx, arg);
        if (st != MC_OK)
            break;
        if (is_p(&ps->tok, ps, ",")) {
            st = lex(ps);
        } else if (is_p(&ps->tok, ps, close)) {
            ps->bracket = saved_bracket;
            ps->paren = saved_paren;
            ps->index--;
            call->end = ps->tok.pos + 1;
            return lex(ps);
        } else if (ps->tok.kind == T_NEWLINE || ps->tok.kind == T_EOF) {
            return fail(ps, &ps->tok,
                        "expected ',' or '%s' at the end of the line (the '%c' at line %d "
                        "column %d is not closed; use ... to continue a line)",
                        close, ps->text[open->pos], open->line, open->col);
        } else {
            return fail(ps, &ps->tok, "expected ',' or '%s', found '%.*s'", close, (int)ps->tok.len,
                        ps->text + ps->tok.pos);
        }
    }
    return st;
}

/* [ ... ] or { ... }: elements separated by ',' or blanks, rows by ';' or newlines. */
static mc_status parse_matrix(parser *ps, expr **out, bool cell)
{
    const char *close = cell ? "}" : "]";
    token open = ps->tok;
    expr *m = new_expr(ps, cell ? EX_CELL : EX_MATRIX, &open);
    if (m == NULL)
        return nomem(ps);
    const int saved_paren = ps->paren, saved_index = ps->index;
    ps->bracket++;
    ps->paren = 0;
    ps->index = 0;
    int row = 0;
    mc_status st = lex(ps);
    for (;;) {
        if (st != MC_OK)
            break;
        if (ps->tok.kind == T_NEWLINE || is_p(&ps->tok, ps, ";")) {
            if (m->n > 0 && m->row_of[m->n - 1] == row)
                row++;
            st = lex(ps);
            continue;
        }
        if (is_p(&ps->tok, ps, ",")) {
            st = lex(ps);
            continue;
        }
        if (is_p(&ps->tok, ps, close)) {
            m->end = ps->tok.pos + 1;
            m->rows = m->n > 0 ? m->row_of[m->n - 1] + 1 : 0;
            ps->bracket--;
            ps->paren = saved_paren;
            ps->index = saved_index;
            st = lex(ps);
            if (st != MC_OK)
                break;
            *out = m;
            return MC_OK;
        }
        if (ps->tok.kind == T_EOF) {
            st = fail(ps, &open, "'%c' is never closed by '%s'", ps->text[open.pos], close);
            break;
        }
        expr *item = NULL;
        st = parse_expr(ps, &item);
        if (st == MC_OK)
            st = push_item(ps, m, item, row);
    }
    ps->bracket--;
    ps->paren = saved_paren;
    ps->index = saved_index;
    sc_expr_free(ps->s->ctx, m);
    return st;
}

static mc_status parse_primary(parser *ps, expr **out)
{
    token t = ps->tok;
    expr *e = NULL;
    mc_status st = MC_OK;
    if (t.kind == T_NUMBER) {
        e = new_expr(ps, EX_NUM, &t);
        if (e == NULL)
            return nomem(ps);
        e->num = t.num;
        st = lex(ps);
    } else if (t.kind == T_CHAR || t.kind == T_STRING) {
        e = new_expr(ps, t.kind == T_CHAR ? EX_CHAR : EX_STRING, &t);
        if (e == NULL || (e->str = string_text(ps, &t)) == NULL) {
            sc_expr_free(ps->s->ctx, e);
            return nomem(ps);
        }
        st = lex(ps);
    } else if (t.kind == T_IDENT) {
        static const char *const reserved[] = {
            "if",        "elseif", "else",   "while",    "switch",     "case",
            "otherwise", "try",    "catch",  "function", "return",     "break",
            "continue",  "for",    "parfor", "global",   "persistent", NULL};
        if (is_word(&t, ps, "end") && ps->index > 0) {
            e = new_expr(ps, EX_END, &t);
            if (e == NULL)
                return nomem(ps);
            st = lex(ps);
        } else {
            for (int i = 0; reserved[i] != NULL; i++)
                if (is_word(&t, ps, reserved[i]))
                    return fail(ps, &t,
                                "'%s' is not supported in scripts minicnn runs (it runs "
                                "straight-line statements and for loops)",
                                reserved[i]);
            if (is_word(&t, ps, "end"))
                return fail(ps, &t, "'end' without a 'for' to close");
            e = new_expr(ps, EX_IDENT, &t);
            if (e == NULL || (e->str = tok_text(ps, &t)) == NULL) {
                sc_expr_free(ps->s->ctx, e);
                return nomem(ps);
            }
            st = lex(ps);
        }
    } else if (is_p(&t, ps, "(")) {
        const int saved_bracket = ps->bracket;
        ps->bracket = 0;
        ps->paren++;
        st = lex(ps);
        if (st == MC_OK)
            st = parse_expr(ps, &e);
        ps->bracket = saved_bracket;
        ps->paren--;
        if (st == MC_OK && !is_p(&ps->tok, ps, ")"))
            st = fail(ps, &ps->tok, "expected ')' to close the '(' at line %d column %d", t.line,
                      t.col);
        if (st == MC_OK) {
            e->start = t.pos;
            e->end = ps->tok.pos + 1;
            st = lex(ps);
        }
    } else if (is_p(&t, ps, "[") || is_p(&t, ps, "{")) {
        st = parse_matrix(ps, &e, is_p(&t, ps, "{"));
    } else if (is_p(&t, ps, "@")) {
        return fail(ps, &t, "function handles (@) are not supported");
    } else if (t.kind == T_NEWLINE || t.kind == T_EOF) {
        return fail(ps, &t, "expected an expression before the end of the line");
    } else {
        return fail(ps, &t, "expected an expression, found '%.*s'", (int)t.len, ps->text + t.pos);
    }
    if (st != MC_OK) {
        sc_expr_free(ps->s->ctx, e);
        return st;
    }
    /* postfix: calls and indexing, braces, fields; not after a blank inside brackets */
    for (;;) {
        const token p = ps->tok;
        const bool glued = !(p.space_before && ps->bracket > 0 && ps->paren == 0);
        if ((is_p(&p, ps, "(") || is_p(&p, ps, "{")) && glued &&
            (e->kind == EX_IDENT || e->kind == EX_CALL || e->kind == EX_BRACE ||
             e->kind == EX_FIELD)) {
            expr *call = new_expr(ps, is_p(&p, ps, "(") ? EX_CALL : EX_BRACE, &p);
            if (call == NULL) {
                sc_expr_free(ps->s->ctx, e);
                return nomem(ps);
            }
            call->a = e;
            call->line = e->line;
            call->col = e->col;
            call->start = e->start;
            deepen(call, e);
            e = call;
            st = parse_args(ps, call, is_p(&p, ps, "(") ? ")" : "}", &p);
        } else if (is_p(&p, ps, ".") && glued) {
            st = lex(ps);
            if (st == MC_OK && ps->tok.kind != T_IDENT)
                st = fail(ps, &ps->tok, "expected a field name after '.'");
            if (st == MC_OK) {
                expr *f = new_expr(ps, EX_FIELD, &ps->tok);
                if (f == NULL || (f->str = tok_text(ps, &ps->tok)) == NULL) {
                    sc_expr_free(ps->s->ctx, f);
                    st = nomem(ps);
                } else {
                    f->a = e;
                    f->line = e->line;
                    f->col = e->col;
                    f->start = e->start;
                    deepen(f, e);
                    e = f;
                    st = lex(ps);
                }
            }
        } else if (is_p(&p, ps, ".'")) {
            st = fail(ps, &p, "the transpose operator .' is not supported");
        } else {
            break;
        }
        if (st != MC_OK) {
            sc_expr_free(ps->s->ctx, e);
            return st;
        }
    }
    *out = e;
    return MC_OK;
}

/* Binary operators by precedence, lowest first (MATLAB's order). */
typedef struct binop {
    const char *text;
    ex_op op;
    int level;
} binop;
static const binop binops[] = {
    {"||", OP_OROR, 1}, {"&&", OP_ANDAND, 2}, {"|", OP_OR, 3},     {"&", OP_AND, 4},
    {"==", OP_EQ, 5},   {"~=", OP_NE, 5},     {"!=", OP_NE, 5},    {"<", OP_LT, 5},
    {"<=", OP_LE, 5},   {">", OP_GT, 5},      {">=", OP_GE, 5},    {"+", OP_ADD, 7},
    {"-", OP_SUB, 7},   {"*", OP_MUL, 8},     {"/", OP_DIV, 8},    {".*", OP_EMUL, 8},
    {"./", OP_EDIV, 8}, {"^", OP_POW, 10},    {".^", OP_EPOW, 10},
};
#define COLON_LEVEL 6
#define UNARY_LEVEL 9

static const binop *find_binop(parser *ps)
{
    for (size_t i = 0; i < sizeof binops / sizeof binops[0]; i++)
        if (is_p(&ps->tok, ps, binops[i].text)) {
            /* inside brackets, "a -1" is two elements: a blank before and none after */
            if (ps->bracket > 0 && ps->paren == 0 && ps->tok.space_before &&
                (binops[i].op == OP_ADD || binops[i].op == OP_SUB) && ps->pos < ps->len &&
                ps->text[ps->pos] != ' ' && ps->text[ps->pos] != '\t')
                return NULL;
            return &binops[i];
        }
    return NULL;
}

static mc_status parse_level(parser *ps, int level, expr **out);

static mc_status parse_unary(parser *ps, expr **out)
{
    token t = ps->tok;
    ex_op op = is_p(&t, ps, "-")                        ? OP_NEG
               : is_p(&t, ps, "~") || is_p(&t, ps, "!") ? OP_NOT
               : is_p(&t, ps, "+")                      ? OP_PLUS
                                                        : 0;
    if (op == 0) {
        mc_status st = parse_primary(ps, out);
        /* power binds tighter than unary minus: -2^2 is -4 */
        while (st == MC_OK && (is_p(&ps->tok, ps, "^") || is_p(&ps->tok, ps, ".^"))) {
            token o = ps->tok;
            expr *rhs = NULL;
            st = lex(ps);
            if (st == MC_OK)
                st = parse_primary(ps, &rhs);
            if (st != MC_OK) {
                sc_expr_free(ps->s->ctx, *out);
                *out = NULL;
                return st;
            }
            expr *b = new_expr(ps, EX_BINARY, &o);
            if (b == NULL) {
                sc_expr_free(ps->s->ctx, rhs);
                sc_expr_free(ps->s->ctx, *out);
                *out = NULL;
                return nomem(ps);
            }
            b->op = is_p(&o, ps, "^") ? OP_POW : OP_EPOW;
            b->a = *out;
            b->b = rhs;
            deepen(b, *out);
            deepen(b, rhs);
            b->start = (*out)->start;
            b->end = rhs->end;
            *out = b;
        }
        return st;
    }
    if (ps->depth >= MAX_DEPTH)
        return fail(ps, &t, "expressions nested more than %d deep", MAX_DEPTH);
    ps->depth++;
    mc_status st = lex(ps);
    expr *a = NULL;
    if (st == MC_OK)
        st = parse_unary(ps, &a);
    ps->depth--;
    if (st != MC_OK)
        return st;
    expr *u = new_expr(ps, EX_UNARY, &t);
    if (u == NULL) {
        sc_expr_free(ps->s->ctx, a);
        return nomem(ps);
    }
    u->op = op;
    u->a = a;
    u->end = a->end;
    deepen(u, a);
    *out = u;
    return MC_OK;
}

static mc_status parse_level(parser *ps, int level, expr **out)
{
    *out = NULL;
    if (level >= UNARY_LEVEL)
        return parse_unary(ps, out);
    if (level == COLON_LEVEL) {
        mc_status st = parse_level(ps, level + 1, out);
        if (st != MC_OK || !is_p(&ps->tok, ps, ":"))
            return st;
        expr *r = new_expr(ps, EX_RANGE, &ps->tok);
        if (r == NULL)
            return nomem(ps);
        r->a = *out;
        r->line = (*out)->line;
        r->col = (*out)->col;
        r->start = (*out)->start;
        *out = r;
        st = lex(ps);
        if (st == MC_OK)
            st = parse_level(ps, level + 1, &r->b);
        if (st == MC_OK && is_p(&ps->tok, ps, ":")) { /* a:step:b */
            r->c = r->b;
            r->b = NULL;
            st = lex(ps);
            if (st == MC_OK)
                st = parse_level(ps, level + 1, &r->b);
        }
        if (st == MC_OK) {
            r->end = r->b->end;
            deepen(r, r->a);
            deepen(r, r->b);
            deepen(r, r->c);
        }
        return st;
    }
    mc_status st = parse_level(ps, level + 1, out);
    for (;;) {
        if (st != MC_OK)
            return st;
        const binop *b = find_binop(ps);
        if (b == NULL || b->level != level)
            return MC_OK;
        expr *node = new_expr(ps, EX_BINARY, &ps->tok);
        if (node == NULL)
            return nomem(ps);
        node->op = b->op;
        node->a = *out;
        node->start = (*out)->start;
        *out = node;
        st = lex(ps);
        while (st == MC_OK && ps->tok.kind == T_NEWLINE && ps->bracket > 0)
            st = fail(ps, &ps->tok, "expected an operand after '%s'", b->text);
        if (st == MC_OK)
            st = parse_level(ps, level + 1, &node->b);
        if (st == MC_OK) {
            node->end = node->b->end;
            deepen(node, node->a);
            deepen(node, node->b);
            if (node->depth > MAX_TREE_DEPTH)
                st = fail(ps, &ps->tok, "the expression is more than %d operations deep",
                          MAX_TREE_DEPTH);
        }
    }
}

static mc_status parse_expr(parser *ps, expr **out)
{
    *out = NULL;
    if (ps->depth >= MAX_DEPTH)
        return fail(ps, &ps->tok, "expressions nested more than %d deep", MAX_DEPTH);
    ps->depth++;
    mc_status st = parse_level(ps, 1, out);
    ps->depth--;
    if (st == MC_OK && (*out)->depth > MAX_TREE_DEPTH)
        st = fail(ps, &ps->tok, "the expression is more than %d operations deep", MAX_TREE_DEPTH);
    if (st != MC_OK) {
        sc_expr_free(ps->s->ctx, *out);
        *out = NULL;
    }
    return st;
}

/* ---- Statements ---- */

static mc_status add_out(parser *ps, stmt *st, char *name)
{
    if (name == NULL)
        return nomem(ps);
    char **outs = mc_alloc(ps->s->ctx, (size_t)(st->n_outs + 1) * sizeof *outs);
    if (outs == NULL) {
        mc_free(ps->s->ctx, name);
        return nomem(ps);
    }
    if (st->n_outs > 0)
        memcpy(outs, st->outs, (size_t)st->n_outs * sizeof *outs);
    mc_free(ps->s->ctx, st->outs);
    st->outs = outs;
    st->outs[st->n_outs++] = name;
    return MC_OK;
}

/* Whether the text at pos is "[a, b, ~] =" (a multiple assignment). */
static bool multi_assign_ahead(const parser *ps, size_t pos)
{
    size_t i = pos;
    while (i < ps->len && ps->text[i] != ']' && ps->text[i] != '\n' && ps->text[i] != '(' &&
           ps->text[i] != '\'' && ps->text[i] != '"')
        i++;
    if (i >= ps->len || ps->text[i] != ']')
        return false;
    i++;
    while (i < ps->len && (ps->text[i] == ' ' || ps->text[i] == '\t'))
        i++;
    return i < ps->len && ps->text[i] == '=' && (i + 1 >= ps->len || ps->text[i + 1] != '=');
}

/* Functions written in command syntax in scripts ("close all", "clear all", "format compact"). */
static const char *const command_words[] = {"clc",  "clear",   "close", "format",  "hold",   "axis",
                                            "grid", "warning", "more",  "drawnow", "figure", NULL};

static mc_status end_statement(parser *ps, stmt *st)
{
    st->display = true;
    if (is_p(&ps->tok, ps, ";")) {
        st->display = false;
        return lex(ps);
    }
    if (is_p(&ps->tok, ps, ","))
        return lex(ps);
    if (ps->tok.kind == T_NEWLINE)
        return lex(ps);
    if (ps->tok.kind == T_EOF)
        return MC_OK;
    return fail(ps, &ps->tok, "expected the end of the statement, found '%.*s'", (int)ps->tok.len,
                ps->text + ps->tok.pos);
}

static mc_status parse_block(parser *ps, stmt ***body, int *n, bool in_for, const token *for_tok);

static mc_status parse_statement(parser *ps, stmt **out)
{
    *out = NULL;
    token t = ps->tok;
    stmt *st = mc__calloc(ps->s->ctx, 1, sizeof *st);
    if (st == NULL)
        return nomem(ps);
    st->line = t.line;
    st->col = t.col;
    st->start = t.pos;
    ps->stmt_start = t.pos;
    ps->stmt_line = t.line;
    mc_status rc = MC_OK;
    if (is_word(&t, ps, "for") || is_word(&t, ps, "parfor")) {
        st->kind = ST_FOR;
        rc = lex(ps);
        const bool paren = rc == MC_OK && is_p(&ps->tok, ps, "(");
        if (paren)
            rc = lex(ps);
        if (rc == MC_OK && ps->tok.kind != T_IDENT)
            rc = fail(ps, &ps->tok, "expected the loop variable after 'for'");
        if (rc == MC_OK)
            rc = add_out(ps, st, tok_text(ps, &ps->tok));
        if (rc == MC_OK)
            rc = lex(ps);
        if (rc == MC_OK && !is_p(&ps->tok, ps, "="))
            rc = fail(ps, &ps->tok, "expected '=' after the loop variable");
        if (rc == MC_OK)
            rc = lex(ps);
        if (rc == MC_OK)
            rc = parse_expr(ps, &st->rhs);
        if (rc == MC_OK && paren) {
            if (!is_p(&ps->tok, ps, ")"))
                rc = fail(ps, &ps->tok, "expected ')' after the loop range");
            else
                rc = lex(ps);
        }
        if (rc == MC_OK &&
            (is_p(&ps->tok, ps, ",") || is_p(&ps->tok, ps, ";") || ps->tok.kind == T_NEWLINE))
            rc = lex(ps);
        if (rc == MC_OK && ps->depth >= MAX_DEPTH)
            rc = fail(ps, &t, "for loops nested more than %d deep", MAX_DEPTH);
        if (rc == MC_OK) {
            const size_t saved_start = ps->stmt_start;
            const int saved_line = ps->stmt_line;
            ps->depth++;
            rc = parse_block(ps, &st->body, &st->n_body, true, &t);
            ps->depth--;
            ps->stmt_start = saved_start;
            ps->stmt_line = saved_line;
        }
        if (rc == MC_OK) { /* the 'end' */
            st->end = ps->tok.pos + ps->tok.len;
            rc = lex(ps);
            if (rc == MC_OK)
                rc = end_statement(ps, st);
            st->display = false;
        }
    } else if (is_p(&t, ps, "[") && multi_assign_ahead(ps, ps->pos)) {
        st->kind = ST_ASSIGN;
        rc = lex(ps);
        while (rc == MC_OK && !is_p(&ps->tok, ps, "]")) {
            if (ps->tok.kind == T_IDENT)
                rc = add_out(ps, st, tok_text(ps, &ps->tok));
            else if (is_p(&ps->tok, ps, "~"))
                rc = add_out(ps, st, mc__strdup(ps->s->ctx, ""));
            else if (!is_p(&ps->tok, ps, ","))
                rc = fail(ps, &ps->tok, "expected a variable name in the outputs [...]");
            if (rc == MC_OK)
                rc = lex(ps);
        }
        if (rc == MC_OK)
            rc = lex(ps); /* ']' */
        if (rc == MC_OK)
            rc = lex(ps); /* '=' */
        if (rc == MC_OK)
            rc = parse_expr(ps, &st->rhs);
        if (rc == MC_OK) {
            st->end = st->rhs->end;
            rc = end_statement(ps, st);
        }
    } else {
        bool command = false;
        if (t.kind == T_IDENT) {
            /* command syntax: a known name followed by a blank and a bare word */
            size_t q = ps->pos;
            const bool blank = q < ps->len && (ps->text[q] == ' ' || ps->text[q] == '\t');
            while (q < ps->len && (ps->text[q] == ' ' || ps->text[q] == '\t'))
                q++;
            for (int i = 0; command_words[i] != NULL; i++)
                command |= is_word(&t, ps, command_words[i]);
            command = command && blank && q < ps->len && is_alpha((unsigned char)ps->text[q]);
        }
        size_t q = ps->pos;
        while (q < ps->len && (ps->text[q] == ' ' || ps->text[q] == '\t'))
            q++;
        if (command) {
            st->kind = ST_COMMAND;
            rc = add_out(ps, st, tok_text(ps, &t));
            /* the words as they are written, up to the end of the statement */
            st->end = ps->pos;
            for (;;) {
                while (ps->pos < ps->len && (ps->text[ps->pos] == ' ' || ps->text[ps->pos] == '\t'))
                    advance(ps, 1);
                size_t w = ps->pos;
                while (w < ps->len && strchr(" \t\r\n;,%", ps->text[w]) == NULL)
                    w++;
                if (rc != MC_OK || w == ps->pos)
                    break;
                char *word = mc_alloc(ps->s->ctx, w - ps->pos + 1);
                if (word != NULL) {
                    memcpy(word, ps->text + ps->pos, w - ps->pos);
                    word[w - ps->pos] = '\0';
                }
                rc = add_out(ps, st, word);
                advance(ps, w - ps->pos);
                st->end = ps->pos;
            }
            if (rc == MC_OK)
                rc = lex(ps);
            if (rc == MC_OK)
                rc = end_statement(ps, st);
        } else if (t.kind == T_IDENT && q < ps->len && ps->text[q] == '=' &&
                   (q + 1 >= ps->len || ps->text[q + 1] != '=')) {
            st->kind = ST_ASSIGN;
            rc = add_out(ps, st, tok_text(ps, &t));
            if (rc == MC_OK)
                rc = lex(ps);
            if (rc == MC_OK)
                rc = lex(ps);
            if (rc == MC_OK)
                rc = parse_expr(ps, &st->rhs);
            if (rc == MC_OK) {
                st->end = st->rhs->end;
                rc = end_statement(ps, st);
            }
        } else {
            st->kind = ST_EXPR;
            rc = parse_expr(ps, &st->rhs);
            if (rc == MC_OK && is_p(&ps->tok, ps, "="))
                rc = fail(ps, &ps->tok,
                          "assigning to an indexed variable or a field is not supported; "
                          "assign to a variable name");
            if (rc == MC_OK) {
                st->end = st->rhs->end;
                rc = end_statement(ps, st);
            }
        }
    }
    if (rc != MC_OK) {
        sc_stmt_free(ps->s->ctx, st);
        return rc;
    }
    *out = st;
    return MC_OK;
}

static mc_status push_stmt(parser *ps, stmt ***list, int *n, stmt *st)
{
    stmt **grown = mc_alloc(ps->s->ctx, (size_t)(*n + 1) * sizeof *grown);
    if (grown == NULL) {
        sc_stmt_free(ps->s->ctx, st);
        return nomem(ps);
    }
    if (*n > 0)
        memcpy(grown, *list, (size_t)*n * sizeof *grown);
    mc_free(ps->s->ctx, *list);
    *list = grown;
    (*list)[(*n)++] = st;
    return MC_OK;
}

static mc_status parse_block(parser *ps, stmt ***body, int *n, bool in_for, const token *for_tok)
{
    for (;;) {
        while (ps->tok.kind == T_NEWLINE || is_p(&ps->tok, ps, ";") || is_p(&ps->tok, ps, ","))
            if (lex(ps) != MC_OK)
                return MC_ERR_FORMAT;
        if (ps->tok.kind == T_EOF) {
            if (in_for)
                return fail(ps, for_tok, "this 'for' is never closed by 'end'");
            return MC_OK;
        }
        if (in_for && (is_word(&ps->tok, ps, "end") || is_word(&ps->tok, ps, "endfor")))
            return MC_OK;
        const size_t loop_start = ps->stmt_start;
        const int loop_line = ps->stmt_line;
        stmt *st = NULL;
        mc_status rc = parse_statement(ps, &st);
        if (rc == MC_OK)
            rc = push_stmt(ps, body, n, st);
        if (rc != MC_OK)
            return rc;
        ps->stmt_start = loop_start; /* a loop's own errors name the loop */
        ps->stmt_line = loop_line;
    }
}

mc_status sc_parse(mc_script *s)
{
    parser ps;
    memset(&ps, 0, sizeof ps);
    ps.s = s;
    ps.text = s->text;
    ps.len = s->len;
    ps.line = 1;
    ps.col = 1;
    ps.tok.kind = T_NEWLINE;
    ps.tok.pos = (size_t)-1;
    mc_status st = lex(&ps);
    if (st == MC_OK)
        st = parse_block(&ps, &s->stmts, &s->n, false, NULL);
    return st;
}
