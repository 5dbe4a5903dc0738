//! The `esrs::Aggregate` glue every aggregate shares: a unit struct named for the aggregate,
//! whose `handle_command` is its `command::decide` and whose `apply_event` is its state's
//! `apply`, and the module's `fold`. Written once here, so an aggregate module says only what
//! differs (its stored name and its four types), and `fold` is the one way to see a state from
//! its events. [`text_within`] is the one rule of the free text their commands carry.

/// Declares an aggregate and its module's `fold`:
/// `aggregate!(Name = "stored name", decide, State, Command, Event, Error)` with
/// `decide: fn(&State, Command) -> Result<Vec<Event>, Error>` and `State::apply(self, Event)`.
/// (A blanket impl of the foreign `esrs::Aggregate` over a trait of ours is not allowed by the
/// orphan rule, hence a macro.)
macro_rules! aggregate {
    ($(#[$meta:meta])* $name:ident = $stored:literal, $decide:path,
     $state:ty, $command:ty, $event:ty, $error:ty $(,)?) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name;

        impl esrs::Aggregate for $name {
            const NAME: &'static str = $stored;
            type State = $state;
            type Command = $command;
            type Event = $event;
            type Error = $error;

            fn handle_command(
                state: &Self::State,
                command: Self::Command,
            ) -> Result<Vec<Self::Event>, Self::Error> {
                $decide(state, command)
            }

            fn apply_event(state: Self::State, payload: Self::Event) -> Self::State {
                state.apply(payload)
            }
        }

        #[doc = concat!(
            "The state these events leave a `", $stored, "` aggregate in (fold the events up to a ",
            "moment to see it as it was then)."
        )]
        pub fn fold(events: impl IntoIterator<Item = $event>) -> $state {
            crate::aggregate::fold::<$name>(events)
        }
    };
}

pub(crate) use aggregate;

/// The state these events leave an aggregate of type `A` in, from its default (fold the events
/// up to a moment to see the aggregate as it was then).
pub fn fold<A>(events: impl IntoIterator<Item = A::Event>) -> A::State
where
    A: esrs::Aggregate,
    A::State: Default,
{
    events
        .into_iter()
        .fold(A::State::default(), |state, event| {
            A::apply_event(state, event)
        })
}

/// `text` if a command may carry it: not blank, and at most `max` characters as given (a command
/// that keeps its text trimmed passes it trimmed). Refused with `blank`, or with
/// `too_long(len, max)`.
pub(crate) fn text_within<E>(
    text: &str,
    max: usize,
    blank: E,
    too_long: impl FnOnce(usize, usize) -> E,
) -> Result<&str, E> {
    if text.trim().is_empty() {
        return Err(blank);
    }
    let len = text.chars().count();
    if len > max {
        return Err(too_long(len, max));
    }
    Ok(text)
}
