# SPDX-License-Identifier: MIT
# shellcheck disable=SC2207 # COMPREPLY=($(compgen ...)) is the completion idiom
# bash completion for minicnn: the commands, then each command's flags, and files or the
# known words where a flag takes one. Installed as share/bash-completion/completions/minicnn.

_minicnn()
{
    local cur prev words cword
    if declare -F _init_completion >/dev/null; then
        _init_completion || return
    else
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD - 1]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    fi

    local commands="train classify predict normlab inspect data run info layer help version"
    if [[ $cword -eq 1 ]]; then
        COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
        return
    fi

    local flags=""
    case ${words[1]} in
    train)
        flags="--net --data --split --no-resize --response --omit-missing --train-images --train-labels --test-images
            --test-labels --color-preprocessing --augmenter --execution-environment --solver --initial-learn-rate --momentum
            --gradient-decay-factor --squared-gradient-decay-factor --epsilon
            --l2-regularization --max-epochs --mini-batch-size --shuffle --learn-rate-schedule
            --learn-rate-drop-factor --learn-rate-drop-period --validation-data
            --validation-images --validation-labels
            --validation-frequency --validation-patience --batch-normalization-statistics
            --gradient-threshold
            --gradient-threshold-method --verbose --verbose-frequency --seed --threads
            --profile --train-subset --report --save --plots --log --checkpoint-path --resume
            --min-accuracy --help" ;;
    classify)
        flags="--data --test-images --test-labels --color-preprocessing --split --seed
            --no-resize --response --omit-missing --help" ;;
    predict) flags="--top-k --json --color-preprocessing --no-resize --help" ;;
    normlab)
        flags="--data --net --norms --batch-sizes --seeds --epochs --subset --learn-rate-rule
            --base-learn-rate --base-batch --figure --threads --help" ;;
    inspect) flags="--layer --data --images --out --help" ;;
    data)
        if [[ $cword -eq 2 ]]; then
            COMPREPLY=($(compgen -W "export-png preview-augmented digitdataset --help" -- "$cur"))
            return
        fi
        if [[ ${words[2]} == preview-augmented ]]; then
            flags="--augmenter --data --images --labels --rows --columns --seed --out --help"
        elif [[ ${words[2]} == digitdataset ]]; then
            flags="--out --per-class --images --labels --force --help"
        else
            flags="--data --train-images --train-labels --test-images --test-labels --force --help"
        fi ;;
    run)
        if [[ $prev != --* && $cur != -* ]]; then
            COMPREPLY=($(compgen -f -X '!*.m' -- "$cur") $(compgen -d -- "$cur"))
            return
        fi
        flags="--seed --threads --matlabroot --help" ;;
    layer) flags="--all" ;;
    info | help | version) flags="" ;;
    esac

    # The values of flags that take one.
    case $prev in
    --data) COMPREPLY=($(compgen -W "fashion-mnist mnist" -- "$cur") $(compgen -d -- "$cur")); return ;;
    --solver) COMPREPLY=($(compgen -W "sgdm adam rmsprop" -- "$cur")); return ;;
    --shuffle) COMPREPLY=($(compgen -W "once never every-epoch" -- "$cur")); return ;;
    --learn-rate-schedule) COMPREPLY=($(compgen -W "none piecewise" -- "$cur")); return ;;
    --batch-normalization-statistics)
        COMPREPLY=($(compgen -W "population moving" -- "$cur")); return ;;
    --validation-data)
        COMPREPLY=($(compgen -W "none test" -- "$cur") $(compgen -d -- "$cur")
            $(compgen -f -X '!*.csv' -- "$cur")); return ;;
    --color-preprocessing) COMPREPLY=($(compgen -W "none gray2rgb rgb2gray" -- "$cur")); return ;;
    --gradient-threshold-method)
        COMPREPLY=($(compgen -W "l2norm global-l2norm absolute-value" -- "$cur")); return ;;
    --verbose) COMPREPLY=($(compgen -W "true false" -- "$cur")); return ;;
    --execution-environment) COMPREPLY=($(compgen -W "auto cpu" -- "$cur")); return ;;
    --learn-rate-rule) COMPREPLY=($(compgen -W "linear constant" -- "$cur")); return ;;
    --net) COMPREPLY=($(compgen -f -X '!*.net' -- "$cur") $(compgen -d -- "$cur")); return ;;
    --checkpoint-path | --matlabroot) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --images) # inspect: a count; data preview-augmented, data digitdataset: an IDX file
        [[ ${words[1]} == inspect ]] || COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --augmenter) COMPREPLY=($(compgen -W "\"imageDataAugmenter(" -- "$cur")); return ;;
    --train-images | --train-labels | --test-images | --test-labels | --validation-images | \
        --validation-labels | --report | --save | \
        --labels | --plots | --log | --resume | --figure | --out)
        COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --split | --initial-learn-rate | --momentum | --gradient-decay-factor | \
        --squared-gradient-decay-factor | --epsilon | --l2-regularization | --max-epochs | \
        --mini-batch-size | --learn-rate-drop-factor | --learn-rate-drop-period | \
        --validation-frequency | --validation-patience | --gradient-threshold | \
        --verbose-frequency | --seed | --threads | --train-subset | --min-accuracy | --top-k | \
        --norms | --batch-sizes | --seeds | --epochs | --subset | --base-learn-rate | \
        --base-batch | --layer | --rows | --columns | --per-class)
        return ;;
    esac

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    else
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}
complete -F _minicnn minicnn
