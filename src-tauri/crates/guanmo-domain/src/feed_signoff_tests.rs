use super::*;
use proptest::prelude::*;

const AUTHOR: &str = "p-author";

fn step(
    id: &str,
    action: SignoffAction,
    level: i32,
    levels: i32,
    after: Option<&str>,
    person: &str,
    hlc: u32,
) -> StepRecord {
    StepRecord {
        id: id.into(),
        action,
        level,
        levels,
        after: after.map(str::to_string),
        post_version: 1,
        person_id: person.into(),
        person_name: format!("{person}名"),
        hlc: format!("{hlc:08}"),
        at: format!("2026-12-04T01:{:02}:00.000Z", hlc % 60),
        reason: if action == SignoffAction::Return {
            "图片需更换".into()
        } else {
            String::new()
        },
    }
}

#[test]
fn three_levels_publish_only_after_each_level_by_a_different_person() {
    use SignoffAction as A;
    let s1 = step("s1", A::Submit, 1, 3, None, AUTHOR, 1);
    let a2 = step("a2", A::Approve, 2, 3, Some("s1"), "zhang", 2);
    let a3 = step("a3", A::Approve, 3, 3, Some("a2"), "li", 3);
    let st = fold(&[s1.clone(), a2.clone()], AUTHOR, 1);
    assert_eq!(st.stage, SignoffStage::Pending);
    assert_eq!(st.levels_done, 2);
    assert_eq!(pending_word(st.levels_done, 3), "待三审");
    let st = fold(&[a3.clone(), a2.clone(), s1.clone()], AUTHOR, 1);
    assert_eq!(st.stage, SignoffStage::Published, "order does not matter");
    assert_eq!(st.editor.as_deref(), Some("zhang名"));
    assert_eq!(st.approver.as_deref(), Some("li名"));
    assert_eq!(st.published_at, Some(a3.at.clone()));
    // The same person may not approve two levels, nor the author above 一审.
    let twice = step("a3", A::Approve, 3, 3, Some("a2"), "zhang", 3);
    assert_eq!(
        advance(
            &fold(&[s1.clone(), a2.clone()], AUTHOR, 1),
            &twice,
            AUTHOR,
            1
        ),
        Err(SignoffError::OwnPost)
    );
    let own = step("a2", A::Approve, 2, 3, Some("s1"), AUTHOR, 2);
    assert_eq!(
        advance(&fold(&[s1], AUTHOR, 1), &own, AUTHOR, 1),
        Err(SignoffError::OwnPost)
    );
}

#[test]
fn two_approvals_of_one_level_count_once_and_the_first_by_clock_is_named() {
    use SignoffAction as A;
    let s1 = step("s1", A::Submit, 1, 3, None, AUTHOR, 1);
    let x = step("x", A::Approve, 2, 3, Some("s1"), "zhang", 5);
    let y = step("y", A::Approve, 2, 3, Some("s1"), "wang", 4);
    let st = fold(&[s1.clone(), x.clone(), y.clone()], AUTHOR, 1);
    assert_eq!(st.levels_done, 2);
    assert_eq!(
        st.editor.as_deref(),
        Some("wang名"),
        "y has the earlier clock"
    );
    assert_eq!(st, fold(&[y, x, s1], AUTHOR, 1));
}

#[test]
fn a_return_sends_the_post_back_and_an_approval_of_the_old_round_no_longer_counts() {
    use SignoffAction as A;
    let s1 = step("s1", A::Submit, 1, 2, None, AUTHOR, 1);
    let r = step("r", A::Return, 2, 2, Some("s1"), "zhang", 2);
    let st = fold(&[s1.clone(), r.clone()], AUTHOR, 1);
    assert_eq!(st.stage, SignoffStage::Draft);
    assert_eq!(st.returned_reason.as_deref(), Some("图片需更换"));
    // The author edits (version 2) and submits again; an approval made against round one
    // (same `after` as the return, later clock) changes nothing.
    let mut s2 = step("s2", A::Submit, 1, 2, Some("r"), AUTHOR, 3);
    s2.post_version = 2;
    let late = step("late", A::Approve, 2, 2, Some("s1"), "li", 9);
    let st = fold(&[s1, r, s2, late], AUTHOR, 2);
    assert_eq!(st.stage, SignoffStage::Pending);
    assert_eq!(st.round_version, 2);
}

#[test]
fn lowering_the_levels_leaves_a_pending_post_waiting_for_an_explicit_sign_off() {
    use SignoffAction as A;
    let s1 = step("s1", A::Submit, 1, 3, None, AUTHOR, 1);
    let a2 = step("a2", A::Approve, 2, 3, Some("s1"), "zhang", 2);
    let st = fold(&[s1.clone(), a2.clone()], AUTHOR, 1);
    // Now 2 levels: nothing left to approve, the post waits for 签发.
    assert_eq!(pending_word(st.levels_done, 2), "待签发");
    assert_eq!(
        level_for(&st, A::Approve, 2),
        Err(SignoffError::NoLevelLeft)
    );
    assert_eq!(skipped_levels(&st, 2), Vec::<i32>::new());
    let sign = step("f", A::FastTrack, 2, 2, Some("a2"), "li", 3);
    let st = advance(&st, &sign, AUTHOR, 1).unwrap();
    assert_eq!(st.stage, SignoffStage::Published);
}

#[test]
fn a_fast_track_needs_the_final_level_and_records_what_it_skipped() {
    use SignoffAction as A;
    assert_eq!(skipped_levels(&Signoff::default(), 3), vec![1, 2]);
    assert_eq!(
        authorize(Some(&[PersonRole::Editor]), 3),
        Err(SignoffError::NoRight("三审"))
    );
    assert!(authorize(Some(&[PersonRole::Approver]), 3).is_ok());
    assert!(authorize(Some(&[PersonRole::Editor]), 2).is_ok());
    assert!(authorize(None, 3).is_ok(), "a device where no one signs in");
    let f = step("f", A::FastTrack, 3, 3, None, "li", 1);
    let st = fold(std::slice::from_ref(&f), AUTHOR, 1);
    assert_eq!(st.stage, SignoffStage::Published);
    assert_eq!(st.approver.as_deref(), Some("li名"));
    let own = step("f", A::FastTrack, 3, 3, None, AUTHOR, 1);
    assert_eq!(fold(&[own], AUTHOR, 1).stage, SignoffStage::Draft);
}

#[test]
fn settings_and_words_read_back() {
    assert!(SignoffSettings::default().validate().is_empty());
    for bad in [0, 4, -1] {
        let s = SignoffSettings {
            levels: bad,
            print_footer: false,
        };
        assert_eq!(s.validate()[0].code, ProblemCode::OutOfRange, "{bad}");
    }
    for a in SignoffAction::ALL {
        assert_eq!(SignoffAction::parse(a.as_str()), Some(a));
    }
    assert_eq!(pending_word(1, 3), "待二审");
    assert_eq!(pending_word(1, 2), "待二审");
    assert_eq!(pending_word(3, 3), "待签发");
}

// ---------------------------------------------------------------------------------------
// The state machine under random use

#[derive(Debug, Clone)]
enum Act {
    Edit,
    SetLevels(i32),
    Step(SignoffAction, usize),
    Direct(usize),
    Retract,
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        1 => Just(Act::Edit),
        2 => (1..=3i32).prop_map(Act::SetLevels),
        8 => (0..4usize, 0..5usize).prop_map(|(a, p)| Act::Step(SignoffAction::ALL[a], p)),
        1 => (0..5usize).prop_map(Act::Direct),
        1 => Just(Act::Retract),
    ]
}

fn roles() -> impl Strategy<Value = Vec<PersonRole>> {
    proptest::sample::subsequence(
        vec![
            PersonRole::Organiser,
            PersonRole::Editor,
            PersonRole::Approver,
            PersonRole::Moderator,
        ],
        0..=3,
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Draft,
    Published,
    Retracted,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    /// Nothing is published without every configured level (each by a different person with
    /// the role, the author only at 一审) or a final-level fast track; lowering the levels
    /// publishes nothing by itself; a retracted post never comes back; and the fold of the
    /// steps gives the same state whatever order they are read in.
    #[test]
    fn sign_off_never_publishes_unreviewed_and_retracted_posts_stay_gone(
        people in proptest::collection::vec(roles(), 5),
        start_levels in 1..=3i32,
        acts in proptest::collection::vec(act(), 1..40),
    ) {
        let ids: Vec<String> = (0..5).map(|i| if i == 0 { AUTHOR.to_string() } else { format!("p{i}") }).collect();
        let mut levels = start_levels;
        let mut version = 1;
        let mut status = Status::Draft;
        let mut state = Signoff::default();
        let mut applied: Vec<StepRecord> = Vec::new();
        // (level, person) approved in this round, as the test sees it.
        let mut round: Vec<(i32, usize)> = Vec::new();
        for (n, a) in acts.into_iter().enumerate() {
            let before = (status, state.clone());
            match a {
                Act::Edit => {
                    if status == Status::Draft && state.stage == SignoffStage::Draft {
                        version += 1;
                    }
                }
                Act::SetLevels(l) => {
                    levels = l;
                    prop_assert_eq!(&before, &(status, state.clone()), "changing levels changes no post");
                }
                Act::Retract => {
                    if status == Status::Published {
                        status = Status::Retracted;
                    }
                }
                Act::Direct(p) => {
                    // publish_post: only with one level, an 一审 person, from a plain draft.
                    if status == Status::Draft && state.stage == SignoffStage::Draft && levels == 1
                        && may_act_at(&people[p], 1)
                    {
                        status = Status::Published;
                    }
                }
                Act::Step(action, p) => {
                    if status != Status::Draft {
                        continue; // published or retracted: the store never folds again
                    }
                    let Ok(level) = level_for(&state, action, levels) else { continue };
                    if authorize(Some(&people[p]), level).is_err() {
                        continue;
                    }
                    let mut s = step(&format!("s{n}"), action, level, levels, None, &ids[p], n as u32);
                    s.after = state.head.clone();
                    s.post_version = version;
                    let Ok(next) = advance(&state, &s, AUTHOR, version) else { continue };
                    match action {
                        SignoffAction::Submit => round = vec![(1, p)],
                        SignoffAction::Return => round.clear(),
                        SignoffAction::Approve | SignoffAction::FastTrack => round.push((level, p)),
                    }
                    if next.stage == SignoffStage::Published {
                        prop_assert!(levels >= 2);
                        prop_assert_eq!(level, levels, "published at the configured final level");
                        let people_in_round: std::collections::BTreeSet<usize> =
                            round.iter().map(|(_, q)| *q).collect();
                        prop_assert_eq!(people_in_round.len(), round.len(), "nobody acts twice");
                        for (l, q) in &round {
                            prop_assert!(may_act_at(&people[*q], *l), "{:?} at {}", people[*q], l);
                            prop_assert!(*l == 1 || *q != 0, "the author only submits");
                        }
                        if action == SignoffAction::Approve {
                            let got: Vec<i32> = round.iter().map(|(l, _)| *l).collect();
                            let all: Vec<i32> = (1..=levels).collect();
                            prop_assert_eq!(got, all, "every configured level, in order");
                        }
                        status = Status::Published;
                    }
                    state = next;
                    applied.push(s);
                }
            }
            if before.0 == Status::Retracted {
                prop_assert_eq!(status, Status::Retracted, "a retracted post never reappears");
            }
            if status == Status::Draft {
                prop_assert!(state.stage != SignoffStage::Published);
            }
        }
        // Every replica folds the same state from the same steps, in any order.
        prop_assert_eq!(&fold(&applied, AUTHOR, version), &state);
        let mut reversed = applied.clone();
        reversed.reverse();
        prop_assert_eq!(&fold(&reversed, AUTHOR, version), &state);
    }
}
