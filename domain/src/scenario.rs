//! Given / when / then for aggregate tests: `given(events).when(command).then(events)`.
//!
//! It calls [`Aggregate::apply_event`] and [`Aggregate::handle_command`] directly: no store, no
//! runtime.

use std::fmt::Debug;

use esrs::Aggregate;

/// Past events, folded into a state.
pub struct Given<A: Aggregate> {
    state: A::State,
}

/// The outcome of one command on that state.
pub struct Outcome<A: Aggregate> {
    state: A::State,
    result: Result<Vec<A::Event>, A::Error>,
}

pub fn given<A: Aggregate>(events: impl IntoIterator<Item = A::Event>) -> Given<A> {
    let state = events
        .into_iter()
        .fold(A::State::default(), |state, event| {
            A::apply_event(state, event)
        });
    Given { state }
}

impl<A: Aggregate> Given<A> {
    pub fn when(self, command: A::Command) -> Outcome<A> {
        let result = A::handle_command(&self.state, command);
        Outcome {
            state: self.state,
            result,
        }
    }

    pub fn state(self) -> A::State {
        self.state
    }
}

impl<A: Aggregate> Outcome<A>
where
    A::Event: Debug + PartialEq + Clone,
    A::Error: Debug + PartialEq,
{
    /// Asserts the command was accepted with exactly these events, and returns the state after
    /// them (for further checks).
    #[track_caller]
    pub fn then(self, expected: Vec<A::Event>) -> A::State {
        match self.result {
            Ok(events) => {
                assert_eq!(events, expected, "the command caused other events");
                events
                    .into_iter()
                    .fold(self.state, |state, event| A::apply_event(state, event))
            }
            Err(error) => {
                panic!("expected events {expected:?}, the command was refused: {error:?}")
            }
        }
    }

    /// Asserts the command was accepted and changed nothing (an idempotent repeat or a no-op).
    #[track_caller]
    pub fn then_nothing(self) {
        self.then(vec![]);
    }

    #[track_caller]
    pub fn then_error(self, expected: A::Error) {
        match self.result {
            Ok(events) => panic!("expected refusal {expected:?}, the command caused {events:?}"),
            Err(error) => assert_eq!(error, expected),
        }
    }

    /// The refusal, for tests that look into it (a field of it) rather than compare it whole.
    #[track_caller]
    pub fn then_error_of(self) -> A::Error {
        match self.result {
            Ok(events) => panic!("expected a refusal, the command caused {events:?}"),
            Err(error) => error,
        }
    }
}
