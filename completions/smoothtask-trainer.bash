_smoothtask_trainer_completion() {
    local IFS=$'
'
    COMPREPLY=( $( env COMP_WORDS="${COMP_WORDS[*]}" \
                   COMP_CWORD=$COMP_CWORD \
                   _SMOOTHTASK_TRAINER_COMPLETE=complete_bash $1 ) )
    return 0
}

complete -o default -F _smoothtask_trainer_completion smoothtask-trainer
