//! The `esrs::Aggregate` glue every aggregate shares: a unit struct named for the aggregate,
//! whose `handle_command` is its `command::decide` and whose `apply_event` is its state's
//! `apply`. Written once here, so an aggregate module says only what differs (its stored name
//! and its four types), and `fold` is the one way to see a state from its events.

/// Declares an aggregate: `aggregate!(Name = "stored name", State, Command, Event, Error, decide)`
/// with `decide: fn(&State, Command) -> Result<Vec<Event>, Error>` and `State::apply(self, Event)`.
/// (A blanket impl of the foreign `esrs::Aggregate` over a trait of ours is not allowed by the
/// orphan rule, hence a macro.)
macro_rules! aggregate {
    ($(#[$meta:meta])* $name:ident = $stored:literal,
     $state:ty, $command:ty, $event:ty, $error:ty, $decide:path $(,)?) => {
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
