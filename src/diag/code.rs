//! The diagnostic codes. Stable: users search for them and `dspec explain`
//! documents each one.

use std::fmt;

macro_rules! codes {
    ($($name:ident = $num:literal, $title:literal;)*) => {
        /// A stable diagnostic code, printed as `DS0xxx`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $($name,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$name,)*];

            pub fn number(self) -> u16 {
                match self { $(Code::$name => $num,)* }
            }

            /// What the code is about, in a few words.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$name => $title,)* }
            }
        }
    };
}

codes! {
    Syntax = 1, "syntax error";
    BadNumber = 2, "invalid number or unit";
    BadEscape = 3, "invalid string escape";
    BadRegex = 4, "invalid regex";
    Unreadable = 5, "cannot read a spec file";
    Duplicate = 101, "duplicate name";
    Undefined = 102, "undefined name";
    UnknownSetting = 103, "unknown setting";
    BadSetting = 104, "wrong value for a setting";
    NotAnImage = 105, "`run` needs an image subject";
    Cycle = 106, "subjects depend on each other in a circle";
    UnknownProperty = 201, "unknown property";
    BadOperator = 202, "operator not valid for this property";
    BadValue = 203, "value of the wrong type or unit";
    BadRange = 204, "range out of order";
    BadGlob = 205, "invalid glob";
    StaticModifier = 206, "`within`/`for` on a property that cannot change";
    UseAfterStop = 207, "container used after `stop`";
    SecretPrinted = 208, "secret used where it would be printed";
    BadArguments = 209, "wrong arguments to a call";
    NeedsPredicate = 210, "property needs a comparison";
    NotAnAction = 211, "`do` needs an action";
    Unused = 301, "subject never used";
    NoExpectation = 302, "file has no expectation";
    ExpectationFailed = 401, "expectation failed";
    SetupFailed = 402, "setup failed";
    EngineUnreachable = 403, "engine unreachable";
    ImageAbsent = 404, "image absent";
}

impl Code {
    pub fn parse(text: &str) -> Option<Code> {
        let digits = text.trim().trim_start_matches(['D', 'S', 'd', 's']);
        let n: u16 = digits.parse().ok()?;
        Code::ALL.iter().copied().find(|c| c.number() == n)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DS{:04}", self.number())
    }
}
